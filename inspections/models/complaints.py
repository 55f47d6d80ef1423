"""Resident complaints registered by staff; each one sends an inspector to the compound."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from inspections.models.registry import Project
from inspections.models.work import InspectionTask


class ComplaintOutcome(models.TextChoices):
    OPEN = "open", _("待核查")
    CONFIRMED = "confirmed", _("核实属实")
    UNFOUNDED = "unfounded", _("核实不属实")


class Complaint(BaseModel):
    project = models.ForeignKey(
        Project, verbose_name=_("物业项目"), on_delete=models.PROTECT, related_name="complaints"
    )
    # May name residents: bureau staff only, never published.
    text = models.TextField(_("投诉内容"))
    received_at = models.DateTimeField(_("受理时间"))
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    task = models.OneToOneField(
        InspectionTask,
        verbose_name=_("核查任务"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaint",
    )
    outcome = models.CharField(
        _("核查结论"),
        max_length=16,
        choices=ComplaintOutcome.choices,
        default=ComplaintOutcome.OPEN,
    )
    credit_record_id = models.BigIntegerField(_("信用记录"), null=True, blank=True)

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["received_at"], name="complaint_received_idx")]

    def __str__(self) -> str:
        return f"{self.project}（{self.received_at:%Y-%m-%d}）"
