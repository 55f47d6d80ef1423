"""Rulebook versions: the credit model's numbers as stored, hashed, never-edited documents."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel
from credit.rulebook import RulebookError, parse_rulebook, rulebook_sha256

ERR_VERSION_IMMUTABLE = "规则版本一经保存不得修改，请另建新版本。"


class RulebookVersion(BaseModel):
    """One version of the rulebook document. A change is a new row (new `version` string inside
    the document); only `is_active` ever changes on an existing row, and at most one row is active.
    Records and snapshots name the version they were produced under."""

    version = models.CharField(_("版本号"), max_length=64, unique=True, editable=False)
    content = models.JSONField(_("规则内容"))
    sha256 = models.CharField(_("内容哈希"), max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    is_active = models.BooleanField(_("当前生效"), default=False)

    class Meta:
        verbose_name = _("信用规则版本")
        verbose_name_plural = _("信用规则版本")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="rulebook_single_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.version}{' ✓' if self.is_active else ''}"

    def clean(self) -> None:
        try:
            rulebook = parse_rulebook(self.content)
        except RulebookError as exc:
            raise ValidationError({"content": list(exc.problems)}) from exc
        self.version = rulebook.version
        self.sha256 = rulebook_sha256(self.content)
