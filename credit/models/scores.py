"""Current (unpublished) state per enterprise: score, risk estimate, blacklist, backbone status."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.models.archive import CreditRecord
from credit.models.registry import Enterprise


class EnterpriseScore(models.Model):
    """The latest computed breakdown of one enterprise. `dirty` is the outbox flag: set in the
    same transaction as any change that may move the score, cleared by the recompute that saw
    that change (the sweeper finds rows whose queued task was lost)."""

    enterprise = models.OneToOneField(
        Enterprise, on_delete=models.CASCADE, primary_key=True, related_name="credit_score"
    )
    rule_score = models.DecimalField(_("规则得分"), max_digits=7, decimal_places=2, default=100)
    model_adjustment = models.DecimalField(_("模型调整"), max_digits=7, decimal_places=2, default=0)
    score = models.DecimalField(_("信用分"), max_digits=7, decimal_places=2, default=100)
    grade = models.CharField(_("信用等级"), max_length=8, blank=True)
    blacklisted = models.BooleanField(_("黑名单"), default=False)
    blacklist_proposal = models.BooleanField(_("应列入黑名单"), default=False)
    has_effective_serious = models.BooleanField(_("有生效严重失信记录"), default=False)
    tender_benefit_codes = models.JSONField(_("招投标优惠依据"), default=list)
    reasons = models.JSONField(_("计分说明"), default=list)
    # Identifies the set of records that counted (see credit.recompute), so a full recompute can
    # tell whether the stored reasons still describe the score.
    counted_fingerprint = models.BigIntegerField(default=0)
    rulebook_version = models.CharField(_("规则版本"), max_length=64, blank=True)
    model_version = models.CharField(_("模型版本"), max_length=64, blank=True)
    as_of = models.DateField(_("计分日期"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"), null=True, blank=True)
    dirty = models.BooleanField(_("待重算"), default=True)
    dirty_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("企业信用分")
        verbose_name_plural = _("企业信用分")
        indexes = [
            models.Index(
                fields=["dirty_since"], condition=models.Q(dirty=True), name="score_dirty_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.score} {self.grade}"


class EnterpriseRisk(models.Model):
    """The risk model's latest estimate for an enterprise, blended into its score."""

    enterprise = models.OneToOneField(
        Enterprise, on_delete=models.CASCADE, primary_key=True, related_name="credit_risk"
    )
    probability = models.FloatField(_("严重违规概率"))
    population_mean = models.FloatField(_("全体平均概率"))
    model_version = models.CharField(_("模型版本"), max_length=64)
    reasons = models.JSONField(_("风险因素"), default=list)
    # False while no model has passed the promotion gate: the estimate is kept for the model
    # card, the score's model part is 0 and its reasons say why.
    # A database default too: bulk loaders that write rows with SQL (COPY) leave it out.
    live = models.BooleanField(_("计入信用分"), default=True, db_default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("企业风险估计")
        verbose_name_plural = _("企业风险估计")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=1)
                & models.Q(population_mean__gte=0, population_mean__lte=1),
                name="risk_probabilities_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: p={self.probability:.3f} ({self.model_version})"


class BlacklistStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审批")
    ACTIVE = "active", _("已列入")
    WITHDRAWN = "withdrawn", _("已撤回")
    EXITED = "exited", _("已移出")


class BlacklistEntry(BaseModel):
    """One stay on the blacklist, from proposal to exit. A rule-triggered proposal is created by
    the system (proposed_by empty) and must be endorsed by a person, then approved by another."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("物业服务企业"),
        on_delete=models.PROTECT,
        related_name="blacklist_entries",
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=BlacklistStatus.choices, default=BlacklistStatus.PROPOSED
    )
    basis_records = models.ManyToManyField(
        CreditRecord, verbose_name=_("依据的失信记录"), related_name="blacklist_entries"
    )
    entry_reason = models.TextField(_("列入理由"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提议人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    proposed_at = models.DateTimeField(_("提议时间"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    entry_date = models.DateField(_("列入日期"), null=True, blank=True)
    entry_authority = models.CharField(_("列入机关"), max_length=100, blank=True)
    entry_document_no = models.CharField(_("列入文书编号"), max_length=64, blank=True)
    exit_date = models.DateField(_("移出日期"), null=True, blank=True)
    exit_reason = models.TextField(_("移出理由"), blank=True)
    exit_authority = models.CharField(_("移出机关"), max_length=100, blank=True)
    exit_document_no = models.CharField(_("移出文书编号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("黑名单")
        verbose_name_plural = _("黑名单")
        ordering = ["-proposed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=models.Q(status__in=["proposed", "active"]),
                name="blacklist_one_open_per_enterprise",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="active")
                | models.Q(approved_by__isnull=False, entry_date__isnull=False),
                name="blacklist_active_is_approved",
            ),
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True)
                | ~models.Q(approved_by=models.F("proposed_by")),
                name="blacklist_two_people",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}: {self.get_status_display()}"


class BackboneDesignation(BaseModel):
    """The bureau's designation of a backbone enterprise (骨干企业, clause 十七)."""

    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("物业服务企业"),
        on_delete=models.PROTECT,
        related_name="backbone_designations",
    )
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("认定人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    designated_on = models.DateField(_("认定日期"))
    document_no = models.CharField(_("认定文书编号"), max_length=64, blank=True)
    ended_on = models.DateField(_("终止日期"), null=True, blank=True)
    end_reason = models.TextField(_("终止理由"), blank=True)

    class Meta:
        verbose_name = _("骨干企业认定")
        verbose_name_plural = _("骨干企业认定")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=models.Q(ended_on__isnull=True),
                name="backbone_one_open_per_enterprise",
            )
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id} 骨干企业（{self.designated_on}起）"
