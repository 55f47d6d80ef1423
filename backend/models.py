"""Tables every app relies on: timestamps, API tokens and the hash-chained audit log."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BaseModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class TokenAudience(models.TextChoices):
    MOBILE = "mobile", _("移动端")
    BUREAU = "bureau", _("主管部门")


class TokenFamily(BaseModel):
    """One sign-in on one device. Rotating refresh tokens stay in the family; reuse of an old
    refresh token revokes the whole family (RFC 6819 §5.2.2.3)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    audience = models.CharField(max_length=16, choices=TokenAudience.choices)
    device_id = models.CharField(max_length=128)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")
        indexes = [models.Index(fields=["user", "device_id"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.device_id} ({self.audience})"


class TokenKind(models.TextChoices):
    ACCESS = "access", _("访问令牌")
    REFRESH = "refresh", _("刷新令牌")


class ApiToken(models.Model):
    """An opaque bearer token. Only its SHA-256 is stored, so a database leak reveals none."""

    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=8, choices=TokenKind.choices)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("令牌")
        verbose_name_plural = _("令牌")

    def __str__(self) -> str:
        return f"{self.kind} token of family {self.family_id}"


class AuditEntry(models.Model):
    """Append-only. `seq` is consecutive from 1, each entry hashes its predecessor's hash, so an
    edited, inserted or deleted row breaks the chain (`manage.py verify_audit_chain`)."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["seq"]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive")
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"


class AuditHead(models.Model):
    """The chain's latest (seq, hash), a single row: it is the lock appenders take, and it lets
    the verifier notice that entries were cut off the end."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single")]

    def __str__(self) -> str:
        return f"audit head #{self.seq}"


class WorkerHeartbeat(models.Model):
    """Written by the `backend.heartbeat` task (beat sends one a minute). Its age tells operators
    whether workers are consuming the queue; `beats` counts executions, which lets the test suite
    prove that a committed task ran exactly once and a rolled-back one never did."""

    name = models.CharField(max_length=64, primary_key=True)
    beats = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("任务心跳")
        verbose_name_plural = _("任务心跳")

    def __str__(self) -> str:
        return f"{self.name}: {self.beats}"
