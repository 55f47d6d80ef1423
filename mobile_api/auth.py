"""The one bearer authenticator of the mobile API (access tokens of the mobile audience)."""

from backend.auth import BearerAuth
from backend.models import TokenAudience

mobile_auth = BearerAuth(TokenAudience.MOBILE)
