"""Inspection work: tasks on inspectors' phones, inspections at compounds and their findings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.models import StaffProfile
from inspections.models.registry import Project

SHA256_HEX_LENGTH = 64


class TaskKind(models.TextChoices):
    ROUTINE = "routine", _("日常巡查")
    SPECIAL = "special", _("专项检查")
    COMPLAINT = "complaint", _("投诉核查")
    FOLLOWUP = "followup", _("整改复查")


class TaskStatus(models.TextChoices):
    ASSIGNED = "assigned", _("已派发")
    IN_PROGRESS = "in_progress", _("进行中")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class TaskFeedHead(models.Model):
    """The last `change_seq` handed out, a single row. Writers lock it while they change a task
    and keep the lock until commit, so sequence numbers become visible in commit order and a
    phone's cursor ("everything after 41") can never skip a change that committed late."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="task_feed_single")]

    def __str__(self) -> str:
        return f"task feed #{self.seq}"


class InspectionTask(BaseModel):
    kind = models.CharField(_("类型"), max_length=16, choices=TaskKind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.ASSIGNED
    )
    project = models.ForeignKey(
        Project, verbose_name=_("物业项目"), on_delete=models.PROTECT, related_name="tasks"
    )
    assignee = models.ForeignKey(
        StaffProfile, verbose_name=_("巡查员"), on_delete=models.PROTECT, related_name="tasks"
    )
    due_date = models.DateField(_("截止日期"))
    # 1 is the most urgent; the planner ranks candidates, complaints jump the queue with 1.
    priority_rank = models.PositiveIntegerField(_("优先级排名"), default=1)
    reasons = models.JSONField(_("派发理由"), default=list, blank=True)
    # Filled by the inspection planner when a plan creates the task.
    plan_id = models.BigIntegerField(_("巡查计划"), null=True, blank=True, db_index=True)
    change_seq = models.BigIntegerField(_("变更序号"), unique=True)

    class Meta:
        verbose_name = _("巡查任务")
        verbose_name_plural = _("巡查任务")
        ordering = ["change_seq"]
        indexes = [models.Index(fields=["assignee", "change_seq"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority_rank__gte=1), name="task_priority_rank_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.project}（{self.due_date}）"


class InspectionStatus(models.TextChoices):
    DRAFT = "draft", _("未提交")
    SUBMITTED = "submitted", _("已提交")


class Inspection(BaseModel):
    """One visit to one compound. `uuid` comes from the phone and is the idempotency key."""

    uuid = models.UUIDField(_("客户端编号"), unique=True)
    inspector = models.ForeignKey(
        StaffProfile, verbose_name=_("巡查员"), on_delete=models.PROTECT, related_name="inspections"
    )
    project = models.ForeignKey(
        Project, verbose_name=_("物业项目"), on_delete=models.PROTECT, related_name="inspections"
    )
    task = models.ForeignKey(
        InspectionTask,
        verbose_name=_("巡查任务"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
    )
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=InspectionStatus.choices, default=InspectionStatus.DRAFT
    )
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # SHA-256 of the canonical request bodies: an identical resend is recognised, a different
    # body under the same UUID is a conflict.
    body_sha256 = models.CharField(max_length=SHA256_HEX_LENGTH)
    submit_sha256 = models.CharField(max_length=SHA256_HEX_LENGTH, blank=True)

    class Meta:
        verbose_name = _("巡查记录")
        verbose_name_plural = _("巡查记录")
        ordering = ["-started_at"]
        # The statistics' refresh of recent months and the newest-first drill-down list.
        indexes = [models.Index(fields=["started_at"], name="inspection_started_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(submitted_at__isnull=False),
                name="inspection_submitted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project}（{self.started_at:%Y-%m-%d}）"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    CONFIRMED = "confirmed", _("已确认")
    REJECTED = "rejected", _("已驳回")


class Finding(BaseModel):
    uuid = models.UUIDField(_("客户端编号"), unique=True)
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("巡查记录"), on_delete=models.PROTECT, related_name="findings"
    )
    violation_code = models.CharField(_("违规行为代码"), max_length=64)
    description = models.TextField(_("情况描述"), blank=True)
    observed_at = models.DateTimeField(_("发现时间"))
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    body_sha256 = models.CharField(max_length=SHA256_HEX_LENGTH)
    review_status = models.CharField(
        _("审核结果"), max_length=16, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    review_comment = models.TextField(_("审核意见"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    # The credit record a confirmation created (kept as an id: the record lives in `credit`).
    credit_record_id = models.BigIntegerField(_("信用记录"), null=True, blank=True)

    class Meta:
        verbose_name = _("违规发现")
        verbose_name_plural = _("违规发现")
        ordering = ["observed_at"]
        indexes = [
            models.Index(fields=["review_status", "observed_at"]),
            # The statistics' refresh of recent months and their drill-down lists.
            models.Index(fields=["observed_at"], name="finding_observed_idx"),
            models.Index(fields=["reviewed_at"], name="finding_reviewed_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(review_status="pending")
                | models.Q(reviewed_at__isnull=False, reviewed_by__isnull=False),
                name="finding_review_has_reviewer",
            ),
            models.CheckConstraint(
                condition=~models.Q(review_status="rejected") | ~models.Q(review_comment=""),
                name="finding_rejection_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.violation_code} @ {self.inspection}"
