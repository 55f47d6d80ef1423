"""The credit archive proper: records, objections against them and credit repair."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.choices import ObjectionDecision, RecordSource
from credit.models.registry import Enterprise


class RecordKind(models.TextChoices):
    BAD = "bad", _("失信记录")
    GOOD = "good", _("良好记录")


class Severity(models.TextChoices):
    MINOR = "minor", _("轻微")
    ORDINARY = "ordinary", _("一般")
    SERIOUS = "serious", _("严重")


class RecordStatus(models.TextChoices):
    PENDING = "pending", _("异议期内")
    EFFECTIVE = "effective", _("生效")
    EXPIRED = "expired", _("公示期满")
    REVOKED = "revoked", _("已撤销")
    REPAIRED = "repaired", _("已修复")


class CreditRecord(BaseModel):
    """One bad or good record. The rule's numbers (points, months, severity, blacklist) are
    copied in when the record is made, so a later rulebook version never rewrites history."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("物业服务企业"),
        on_delete=models.PROTECT,
        related_name="credit_records",
    )
    rule_code = models.CharField(_("规则代码"), max_length=64)
    title_zh = models.CharField(_("行为（中文）"), max_length=200)
    title_en = models.CharField(_("行为（英文）"), max_length=200)
    kind = models.CharField(_("类别"), max_length=8, choices=RecordKind.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices, blank=True)
    points = models.DecimalField(_("分值"), max_digits=6, decimal_places=2)
    months = models.PositiveSmallIntegerField(_("公示期（月）"))
    blacklist = models.BooleanField(_("可列入黑名单"), default=False)
    facts = models.TextField(_("事实"), blank=True)
    document_no = models.CharField(_("文书编号"), max_length=64, blank=True)
    decided_at = models.DateField(_("认定日期"))
    objection_deadline = models.DateField(_("异议截止日期"), null=True, blank=True)
    effective_from = models.DateField(_("生效日期"))
    effective_until = models.DateField(_("公示截止日期（不含）"))
    # The decision date of a revocation or repair: the record stops counting that day.
    ended_on = models.DateField(_("撤销或修复日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=RecordStatus.choices, default=RecordStatus.PENDING
    )
    source = models.CharField(_("来源"), max_length=16, choices=RecordSource.choices)
    source_ref = models.CharField(_("来源编号"), max_length=64, blank=True)
    rulebook_version = models.CharField(_("规则版本"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("信用记录")
        verbose_name_plural = _("信用记录")
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["enterprise", "status"]),
            models.Index(fields=["status", "effective_from"]),
            models.Index(fields=["status", "effective_until"]),
        ]
        constraints = [
            # The caller's reference (finding uuid, penalty decision id) is the idempotency key.
            models.UniqueConstraint(
                fields=["source", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="record_source_ref_unique",
            ),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="record_points_positive"),
            models.CheckConstraint(
                condition=models.Q(effective_until__gt=models.F("effective_from")),
                name="record_period_order",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="bad") & ~models.Q(severity=""))
                | models.Q(kind="good", severity="", blacklist=False),
                name="record_kind_severity",
            ),
            models.CheckConstraint(
                condition=~models.Q(status__in=["revoked", "repaired"])
                | models.Q(ended_on__isnull=False),
                name="record_ended_on_when_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} — {self.enterprise_id}（{self.decided_at}）"


class Objection(BaseModel):
    """An enterprise's objection (异议) to a pending record, recorded and decided by staff.
    One per record: a decided objection is final in this system (review goes to court)."""

    record = models.OneToOneField(
        CreditRecord, verbose_name=_("信用记录"), on_delete=models.PROTECT, related_name="objection"
    )
    filed_on = models.DateField(_("提出日期"))
    grounds = models.TextField(_("异议理由"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decision = models.CharField(
        _("处理结果"), max_length=16, choices=ObjectionDecision.choices, blank=True
    )
    decision_reason = models.TextField(_("处理理由"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("处理时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("异议")
        verbose_name_plural = _("异议")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decision="", decided_at__isnull=True)
                | (~models.Q(decision="") & models.Q(decided_at__isnull=False)),
                name="objection_decision_complete",
            )
        ]

    def __str__(self) -> str:
        return f"异议 #{self.pk}（记录 {self.record_id}）"


class RepairStatus(models.TextChoices):
    PENDING = "pending", _("待审批")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("未批准")


class RepairApplication(BaseModel):
    """Credit repair (信用修复): after the minimum period, with evidence of rectification."""

    record = models.ForeignKey(
        CreditRecord,
        verbose_name=_("信用记录"),
        on_delete=models.PROTECT,
        related_name="repairs",
    )
    applied_on = models.DateField(_("申请日期"))
    evidence = models.TextField(_("整改证明"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("受理人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=RepairStatus.choices, default=RepairStatus.PENDING
    )
    decision_reason = models.TextField(_("审批意见"), blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审批人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("信用修复申请")
        verbose_name_plural = _("信用修复申请")
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(status="pending"),
                name="repair_one_pending_per_record",
            )
        ]

    def __str__(self) -> str:
        return f"修复申请 #{self.pk}（记录 {self.record_id}）"
