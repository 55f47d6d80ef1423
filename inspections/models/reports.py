"""Monthly statistics reports: one PDF per region and month, made by a scheduled task."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.models import Region


class MonthlyReport(BaseModel):
    """Where a region's report of one month lies in the object store. Made again (same key,
    row updated) when the task runs twice: late syncs can still change a month's figures."""

    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT)
    month = models.DateField(_("月份"))  # its first day
    object_key = models.CharField(_("文件"), max_length=200)
    sha256 = models.CharField(_("内容哈希"), max_length=64)
    size = models.PositiveIntegerField(_("大小（字节）"))
    generated_at = models.DateTimeField(_("生成时间"))

    class Meta:
        verbose_name = _("月度统计报告")
        verbose_name_plural = _("月度统计报告")
        ordering = ["-month", "region_id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "month"], name="monthly_report_unique"),
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="monthly_report_first_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.month:%Y-%m}"
