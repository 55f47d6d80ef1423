"""System checks of the credit app (run by `manage.py check`, `migrate` and at server start)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

TENDER_CLAIM_MIDDLEWARE = "credit.middleware.TenderClaimMiddleware"
ERR_NO_CLAIM_MIDDLEWARE = (
    f"{TENDER_CLAIM_MIDDLEWARE} is not in MIDDLEWARE: signed tender calls would be answered "
    "without reading their nonce claim, and replays would not be refused."
)


@register()
def tender_claim_middleware_installed(app_configs, **kwargs) -> list[Error]:
    if TENDER_CLAIM_MIDDLEWARE in settings.MIDDLEWARE:
        return []
    return [Error(ERR_NO_CLAIM_MIDDLEWARE, id="credit.E001")]
