"""The credit app's vocabulary that interfaces need without the tables: staff roles, region
levels, enterprise statuses, record sources, objection decisions. Defined here so that an API
router, a page or the spreadsheet reader can name a role or a decision without importing
`credit.models`; the models import them from here (and `credit.models` re-exports them), so
migrations and existing imports are unchanged."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.IntegerChoices):
    LEAGUE_CITY = 1, _("盟市")
    BANNER_COUNTY = 2, _("旗县（市、区）")
    TOWNSHIP = 3, _("苏木乡镇（街道）")
    COMMUNITY = 4, _("社区")


class EnterpriseStatus(models.TextChoices):
    ACTIVE = "active", _("正常经营")
    SUSPENDED = "suspended", _("停业整顿")
    EXITED = "exited", _("已退出市场")


class StaffRole(models.TextChoices):
    INSPECTOR = "inspector", _("巡查员")
    REVIEWER = "reviewer", _("审核员")
    ADMIN = "admin", _("管理员")


class RecordSource(models.TextChoices):
    INSPECTION = "inspection", _("巡查发现")
    PENALTY = "penalty", _("行政处罚")
    COMPLAINT = "complaint", _("投诉核实")
    AWARD = "award", _("表彰奖励")
    MANUAL = "manual", _("人工登记")


class ObjectionDecision(models.TextChoices):
    UPHELD = "upheld", _("异议成立")
    REJECTED = "rejected", _("异议不成立")
