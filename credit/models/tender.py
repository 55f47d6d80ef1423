"""Tender-platform clients (HMAC-signed API) and the nonces they have used."""

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


class TenderNonce(models.Model):
    """A nonce seen within the clock-skew window. The unique constraint is the replay check;
    rows older than twice the window are purged (a request that old is refused as stale)."""

    client = models.ForeignKey(TenderClient, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=128)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "nonce"], name="tender_nonce_unique")
        ]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.nonce}"
