"""Risk model registry, per-compound risk estimates and inspection plans.

- `RiskModelVersion`: one trained model. Its artifact (skops + JSON metadata, see
  `ml.persistence`) and a sample of its training population (for drift) live in the object
  store under `object_key` / `reference_key`; the row keeps the metadata, the hold-out metrics
  and the latest drift figures so the model card never has to open the artifact. At most one
  version is `active`: the nightly scoring uses it.
- `ProjectRisk`: the latest scored probability of each compound, with its reasons.
- `InspectionPlan` / `PlanItem`: an approved plan and its ranked compounds. Plans exist only
  once approved (the preview is computed, never stored), so the row itself is the approval.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.models import Region
from inspections.choices import SelectedBy
from inspections.models.registry import Project
from inspections.models.work import InspectionTask

MODEL_VERSION_LENGTH = 64  # as credit.EnterpriseRisk.model_version, which receives it


class RiskModelStatus(models.TextChoices):
    CANDIDATE = "candidate", _("候选")
    ACTIVE = "active", _("使用中")
    RETIRED = "retired", _("已停用")


class RiskModelVersion(BaseModel):
    version = models.CharField(_("模型版本"), max_length=MODEL_VERSION_LENGTH, unique=True)
    object_key = models.CharField(_("模型文件"), max_length=300)
    reference_key = models.CharField(_("训练期特征样本"), max_length=300)
    metadata = models.JSONField(_("元数据"), default=dict)
    # Hold-out report of ml.model.evaluate plus per-segment precision and selection rates.
    metrics = models.JSONField(_("留出期指标"), default=dict)
    status = models.CharField(
        _("状态"),
        max_length=16,
        choices=RiskModelStatus.choices,
        default=RiskModelStatus.CANDIDATE,
    )
    trained_at = models.DateTimeField(_("训练时间"))
    data_until = models.DateField(_("训练数据截至"))
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("启用人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    promoted_at = models.DateTimeField(_("启用时间"), null=True, blank=True)
    # PSI per feature between the training population and the latest scored population.
    drift = models.JSONField(_("漂移（PSI）"), default=dict, blank=True)
    drift_as_of = models.DateField(_("漂移计算日期"), null=True, blank=True)
    # Why staff promoted a model that did not pass the promotion gate (ml.gate); such a model
    # is live only with this recorded reason.
    gate_override_reason = models.TextField(_("未通过检验仍启用的理由"), blank=True)
    # The monthly re-check of calibration on the latest completed period: a list of
    # {"cutoff", "checked_on", "n", "ece", "observed_rate", "mean_predicted", "drifted"}.
    calibration_checks = models.JSONField(_("校准复核"), default=list, blank=True)

    class Meta:
        verbose_name = _("风险模型版本")
        verbose_name_plural = _("风险模型版本")
        ordering = ["-trained_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="risk_model_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version}（{self.get_status_display()}）"


class ProjectRisk(models.Model):
    """The latest estimate for a compound: probability of an ordinary or serious violation
    found by an inspection in the next 180 days."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="risk"
    )
    probability = models.FloatField(_("违规概率"))
    reasons = models.JSONField(_("主要原因"), default=list)
    model_version = models.CharField(_("模型版本"), max_length=MODEL_VERSION_LENGTH)
    scored_at = models.DateTimeField(_("评分时间"))

    class Meta:
        verbose_name = _("项目风险估计")
        verbose_name_plural = _("项目风险估计")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=1),
                name="project_risk_probability_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: p={self.probability:.3f}"


class InspectionPlan(BaseModel):
    region = models.ForeignKey(Region, verbose_name=_("区划"), on_delete=models.PROTECT)
    capacity = models.PositiveIntegerField(_("巡查能力（次）"))
    start_date = models.DateField(_("开始日期"))
    due_date = models.DateField(_("截止日期"))
    seed = models.BigIntegerField(_("随机种子"))
    random_share = models.FloatField(_("随机抽查比例"))
    # The random part is a simple random sample of `random_slots` compounds out of the
    # `random_pool` eligible ones nobody else selected: inclusion probability slots / pool.
    random_pool = models.PositiveIntegerField(_("随机抽样总体"))
    random_slots = models.PositiveIntegerField(_("随机抽样名额"))
    model_version = models.CharField(_("模型版本"), max_length=MODEL_VERSION_LENGTH, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("巡查计划")
        verbose_name_plural = _("巡查计划")
        ordering = ["-start_date", "-id"]
        constraints = [
            # A second approval of the same round (a double click, a retry) must not double
            # every task.
            models.UniqueConstraint(fields=["region", "start_date"], name="plan_one_per_round"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="plan_capacity_pos"),
            models.CheckConstraint(
                condition=models.Q(random_share__gte=0, random_share__lte=1),
                name="plan_random_share_range",
            ),
            models.CheckConstraint(
                condition=models.Q(due_date__gt=models.F("start_date")), name="plan_due_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_id} {self.start_date}（{self.capacity}）"


class PlanItem(models.Model):
    plan = models.ForeignKey(
        InspectionPlan, verbose_name=_("巡查计划"), on_delete=models.CASCADE, related_name="items"
    )
    project = models.ForeignKey(
        Project, verbose_name=_("物业项目"), on_delete=models.PROTECT, related_name="plan_items"
    )
    rank = models.PositiveIntegerField(_("排名"))
    selected_by = models.CharField(_("入选原因"), max_length=16, choices=SelectedBy.choices)
    inclusion_probability = models.FloatField(_("入选概率"))
    probability = models.FloatField(_("违规概率"), null=True, blank=True)
    reasons = models.JSONField(_("理由"), default=list)
    # The task serving this item: created by the approval, or an open task the compound
    # already had (a complaint visit), so no compound gets two visits for one round.
    task = models.ForeignKey(
        InspectionTask,
        verbose_name=_("巡查任务"),
        on_delete=models.PROTECT,
        related_name="plan_items",
    )

    class Meta:
        verbose_name = _("计划项目")
        verbose_name_plural = _("计划项目")
        ordering = ["plan_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "rank"], name="plan_item_rank_unique"),
            models.UniqueConstraint(fields=["plan", "project"], name="plan_item_project_unique"),
            models.CheckConstraint(
                condition=models.Q(inclusion_probability__gt=0, inclusion_probability__lte=1),
                name="plan_item_inclusion_probability_range",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.project_id}（{self.selected_by}）"
