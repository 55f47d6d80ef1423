"""Who is supervised and by whom: regions (GB/T 2260), enterprises, bureau staff."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.choices import EnterpriseStatus, RegionLevel, StaffRole
from credit.validators import validate_region_code, validate_uscc


class Region(BaseModel):
    """An administrative division under 150000 内蒙古自治区, at the bureau's four levels."""

    code = models.CharField(
        _("区划代码"), max_length=12, primary_key=True, validators=[validate_region_code]
    )
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("层级"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(level__in=[1, 2], code__regex=r"^15[0-9]{4}$")
                    | models.Q(level=3, code__regex=r"^15[0-9]{7}$")
                    | models.Q(level=4, code__regex=r"^15[0-9]{10}$")
                ),
                name="region_code_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def league_code(self) -> str:
        """The 盟市 a region belongs to: its first four digits followed by 00."""
        return self.code[:4] + "00"


class Enterprise(BaseModel):
    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("企业名称"), max_length=200, db_index=True)
    # Registration data, public as on the business licence and 信用中国: the legal
    # representative and the registered address (住所) appear on the firm's public page and
    # credit report; they are not in the open-data download.
    legal_representative = models.CharField(_("法定代表人"), max_length=64, blank=True)
    address = models.CharField(_("住所"), max_length=300, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("注册地区划"), on_delete=models.PROTECT)
    status = models.CharField(
        _("经营状态"),
        max_length=16,
        choices=EnterpriseStatus.choices,
        default=EnterpriseStatus.ACTIVE,
    )
    # Scale, kept up to date by the inspections app from management contracts (credit cannot
    # read contracts itself: imports flow one way). Used to propose backbone enterprises.
    managed_area_m2 = models.DecimalField(
        _("在管建筑面积（㎡）"), max_digits=14, decimal_places=2, default=0
    )
    managed_projects = models.PositiveIntegerField(_("在管项目数"), default=0)

    class Meta:
        verbose_name = _("物业服务企业")
        verbose_name_plural = _("物业服务企业")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uscc__regex=r"^[0-9A-HJ-NPQRTUWXY]{18}$"),
                name="enterprise_uscc_shape",
            ),
            models.CheckConstraint(
                condition=models.Q(managed_area_m2__gte=0), name="enterprise_area_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffProfile(BaseModel):
    """A bureau user's role and the regions they work in. Inspectors see only their regions;
    reviewers and admins act on records of their regions (an admin of 150000 sees everything)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    role = models.CharField(_("角色"), max_length=16, choices=StaffRole.choices)
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)
    # Personal data: never public.
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    regions = models.ManyToManyField(Region, verbose_name=_("负责区划"), related_name="staff")

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.display_name or self.user.get_username()}（{self.get_role_display()}）"
