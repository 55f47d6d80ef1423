"""Tender-platform clients (HMAC-signed API) and the calls they made."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from backend.models import BaseModel


class TenderClient(BaseModel):
    """A machine client. The HMAC secret must be readable to verify signatures, so it is stored
    as issued (the database is the trust boundary, as for SECRET_KEY); it is never logged, never
    shown in the admin, never put in an audit payload."""

    client_id = models.CharField(_("客户端标识"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    secret = models.CharField(_("签名密钥"), max_length=128)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("招投标平台客户端")
        verbose_name_plural = _("招投标平台客户端")

    def __str__(self) -> str:
        return f"{self.name}（{self.client_id}）"


class TenderCall(models.Model):
    """One signed call: the light-weight audit of tender look-ups. With Redis the nonce is
    claimed there and the call queued, then stored here by the flush task within seconds
    (credit.tender_calls); without Redis the row is written in the request and the unique
    (client, nonce) pair refuses the replay. The row says who asked what, when, and which
    snapshot answered. Look-ups change no credit data, so they stay out of the hash chain (no
    serialising chain append per call). Rows are kept for a year; replay protection only
    needs twice the 300 s clock-skew window."""

    ACTION = "tender.lookup"

    client = models.ForeignKey(TenderClient, on_delete=models.PROTECT, related_name="calls")
    nonce = models.CharField(max_length=128)
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=32, default=ACTION)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    query = models.CharField(max_length=300, blank=True)
    status = models.PositiveSmallIntegerField()
    snapshot_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("招投标平台调用")
        verbose_name_plural = _("招投标平台调用")
        constraints = [
            models.UniqueConstraint(fields=["client", "nonce"], name="tender_call_nonce_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.method} {self.path} → {self.status}"
