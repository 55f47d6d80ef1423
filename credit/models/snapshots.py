"""Published snapshots: what the public pages and the tender API answer from. Never changed."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from credit.models.registry import Enterprise

ERR_SNAPSHOT_IMMUTABLE = "已发布的快照不可修改或删除。"


class ImmutableRowError(RuntimeError):
    pass


class Snapshot(models.Model):
    """Every enterprise's published state as of one day. `sha256` covers the canonical JSON of
    the metadata and all entries (credit.snapshots.canonical_document), so anyone holding the
    open data can check it."""

    published_at = models.DateTimeField(_("发布时间"))
    as_of = models.DateField(_("数据日期"))
    sha256 = models.CharField(_("内容哈希"), max_length=64)
    rulebook_version = models.CharField(_("规则版本"), max_length=64)
    rulebook_sha256 = models.CharField(_("规则哈希"), max_length=64)
    model_version = models.CharField(_("模型版本"), max_length=200, blank=True)
    enterprises = models.PositiveIntegerField(_("企业数"))
    published_by = models.CharField(_("发布人"), max_length=150)

    class Meta:
        verbose_name = _("信用快照")
        verbose_name_plural = _("信用快照")
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["-as_of", "-id"], name="snapshot_latest_idx")]

    def __str__(self) -> str:
        return f"快照 #{self.pk}（{self.as_of}）"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError(ERR_SNAPSHOT_IMMUTABLE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(ERR_SNAPSHOT_IMMUTABLE)


class SnapshotEntry(models.Model):
    """One enterprise frozen in a snapshot. Holds no personal data: no legal representative, no
    staff names; `records` lists only records counting on the snapshot day."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="entries")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="+")
    uscc = models.CharField(max_length=18)
    name = models.CharField(max_length=200)
    region_code = models.CharField(max_length=12)
    grade = models.CharField(max_length=8)
    score = models.DecimalField(max_digits=7, decimal_places=2)
    rule_score = models.DecimalField(max_digits=7, decimal_places=2)
    model_adjustment = models.DecimalField(max_digits=7, decimal_places=2)
    blacklisted = models.BooleanField()
    blacklist_reason = models.TextField(blank=True)
    blacklist_since = models.DateField(null=True, blank=True)
    is_backbone = models.BooleanField()
    has_effective_serious = models.BooleanField()
    tender_benefit_codes = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    records = models.JSONField(default=list)

    class Meta:
        verbose_name = _("快照条目")
        verbose_name_plural = _("快照条目")
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "uscc"], name="snapshot_entry_unique")
        ]
        indexes = [
            models.Index(fields=["uscc", "snapshot"], name="snapshot_entry_uscc_idx"),
            models.Index(fields=["snapshot", "grade"], name="snapshot_entry_grade_idx"),
            models.Index(fields=["snapshot", "blacklisted"], name="snapshot_entry_black_idx"),
            models.Index(fields=["snapshot", "name"], name="snapshot_entry_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.uscc} @ {self.snapshot_id}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError(ERR_SNAPSHOT_IMMUTABLE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(ERR_SNAPSHOT_IMMUTABLE)


class SnapshotGradeCount(models.Model):
    """How many firms of one registration region had each grade in one snapshot: the grade
    distribution over time of the bureau's statistics, without reading 250,000 entries per
    month. Written with the snapshot, in its transaction, by one GROUP BY over its entries
    (`credit.stats.grades.grade_counts_store`); as immutable as the snapshot itself.
    A blacklisted firm is counted under its grade with `blacklisted` set."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="grade_counts")
    as_of = models.DateField()  # the snapshot's day, copied so a month's last cut is one index read
    region_code = models.CharField(max_length=12)
    grade = models.CharField(max_length=8)
    blacklisted = models.BooleanField()
    firms = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("快照等级分布")
        verbose_name_plural = _("快照等级分布")
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "region_code", "grade", "blacklisted"],
                name="snapshot_grade_count_unique",
            )
        ]
        indexes = [models.Index(fields=["as_of", "snapshot"], name="snapshot_grade_as_of_idx")]

    def __str__(self) -> str:
        return f"{self.snapshot_id} {self.region_code} {self.grade}: {self.firms}"
