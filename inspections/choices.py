"""The inspections app's vocabulary that interfaces need without the tables: why a compound
entered a plan, which photo types a phone may declare, the kinds of compound and where in the
world a compound can be. The models import them from here (and
`inspections.models` re-exports them), so migrations and existing imports are unchanged."""

from django.db import models
from django.utils.translation import gettext_lazy as _

ALLOWED_PHOTO_TYPES = ("image/jpeg", "image/heic", "image/heif", "image/png", "image/webp")
# Mainland China's bounding box (WGS-84), generous by a few tenths of a degree. Used to refuse
# swapped or zero coordinates from spreadsheets and phones.
CHINA_LAT_RANGE = (18.0, 53.6)
CHINA_LON_RANGE = (73.4, 135.1)


class ProjectType(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    OFFICE = "office", _("办公")
    FACTORY = "factory", _("厂房")
    HOSPITAL = "hospital", _("医院")
    SCHOOL = "school", _("学校")
    MALL = "mall", _("商场")
    HOTEL = "hotel", _("酒店")
    PUBLIC = "public", _("公共建筑")


class SelectedBy(models.TextChoices):
    COMPLAINT = "complaint", _("待核查投诉")
    OVERDUE = "overdue", _("超过12个月未巡查")
    MODEL = "model", _("模型风险排名")
    RANKING = "ranking", _("简单排序（风险模型未上线）")
    RANDOM = "random", _("随机抽查")
