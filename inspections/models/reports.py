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


class StatisticFact(models.Model):
    """One additive number of the statistics for one month and one region: how many
    inspections of a kind started, findings of a rule and review state were observed, waits of
    a length ended, … (`inspections.stats.facts`). The region is the compound's own code (the
    firm's registration region for credit figures), so a dashboard of any region sums the rows
    under its prefix, and of any period the rows of its months.

    Recomputed, never edited: `facts_refresh` replaces whole months (every hour the current and
    previous month, every night all of them), so the figures of a month are as old as its last
    refresh, which the dashboard shows."""

    month = models.DateField()  # its first day
    region_code = models.CharField(max_length=12)
    figure = models.CharField(max_length=24)
    key = models.CharField(max_length=80, blank=True)
    value = models.BigIntegerField()

    class Meta:
        verbose_name = _("统计数据")
        verbose_name_plural = _("统计数据")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region_code", "figure", "key"], name="statistic_fact_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.region_code} {self.figure}/{self.key}={self.value}"


class StatisticsRefresh(models.Model):
    """When each month's facts were last recomputed (one row per month)."""

    month = models.DateField(primary_key=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("统计刷新")
        verbose_name_plural = _("统计刷新")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} @ {self.refreshed_at:%Y-%m-%d %H:%M}"
