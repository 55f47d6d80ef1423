"""Compounds (物业项目) and who manages them when, plus the inspector view of staff."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.models import Enterprise, Region, StaffProfile, StaffRole
from inspections.choices import CHINA_LAT_RANGE, CHINA_LON_RANGE, ProjectType

# A compound's gate-to-far-corner distance is rarely above 150 m; phones add their accuracy.
DEFAULT_GEOFENCE_M = 150


class Project(BaseModel):
    """A compound or building under property management (物业项目)."""

    name = models.CharField(_("项目名称"), max_length=200)
    address = models.CharField(_("地址"), max_length=300)
    region = models.ForeignKey(Region, verbose_name=_("所在区划"), on_delete=models.PROTECT)
    lat = models.FloatField(_("纬度（WGS-84）"))
    lon = models.FloatField(_("经度（WGS-84）"))
    geofence_m = models.PositiveIntegerField(_("电子围栏半径（米）"), default=DEFAULT_GEOFENCE_M)
    building_area_m2 = models.DecimalField(_("建筑面积（㎡）"), max_digits=12, decimal_places=2)
    project_type = models.CharField(_("项目类型"), max_length=16, choices=ProjectType.choices)
    is_old_compound = models.BooleanField(_("老旧小区"), default=False)

    class Meta:
        verbose_name = _("物业项目")
        verbose_name_plural = _("物业项目")
        ordering = ["region_id", "name"]
        constraints = [
            # The natural key the registry import uses to recognise a row it has seen before.
            models.UniqueConstraint(
                fields=["region", "name", "address"], name="project_natural_key"
            ),
            models.CheckConstraint(
                condition=models.Q(building_area_m2__gt=0), name="project_area_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(lat__gte=CHINA_LAT_RANGE[0], lat__lte=CHINA_LAT_RANGE[1])
                & models.Q(lon__gte=CHINA_LON_RANGE[0], lon__lte=CHINA_LON_RANGE[1]),
                name="project_point_in_china",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ManagementContract(BaseModel):
    """Enterprise ↔ project over time. `end_date` is exclusive; None means still running."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("物业服务企业"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    project = models.ForeignKey(
        Project, verbose_name=_("物业项目"), on_delete=models.PROTECT, related_name="contracts"
    )
    start_date = models.DateField(_("起始日期"))
    end_date = models.DateField(_("终止日期"), null=True, blank=True)
    by_tender = models.BooleanField(_("通过招投标取得"), default=False)
    contract_no = models.CharField(_("合同编号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("物业服务合同")
        verbose_name_plural = _("物业服务合同")
        ordering = ["project_id", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "start_date"], name="contract_one_start_per_project"
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gt=models.F("start_date")),
                name="contract_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise} — {self.project}（{self.start_date}起）"


class InspectorManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(role=StaffRole.INSPECTOR)


class Inspector(StaffProfile):
    """Staff with the inspector role: the people behind the mobile API."""

    objects = InspectorManager()

    class Meta:
        proxy = True
        verbose_name = _("巡查员")
        verbose_name_plural = _("巡查员")
