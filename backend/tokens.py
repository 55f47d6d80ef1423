"""Opaque bearer tokens for the mobile and bureau APIs.

A token is 32 random bytes (urlsafe base64); the database keeps only its SHA-256. Access tokens
live an hour, refresh tokens two weeks; refreshing rotates the pair and marks the old refresh
token used. Presenting a used refresh token again means it was copied: the whole family (that
device's sign-in) is revoked.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from backend.errors import Problem
from backend.models import ApiToken, TokenFamily, TokenKind

TOKEN_BYTES = 32  # 256 bits: not guessable, not brute-forceable online
ERR_BAD_REFRESH = "刷新令牌无效或已过期，请重新登录。"
ERR_REFRESH_REUSED = "刷新令牌已被使用过，该设备的登录已全部注销，请重新登录。"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    family_id: int


@dataclass(frozen=True)
class Authenticated:
    user: AbstractBaseUser
    family: TokenFamily


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_token(family: TokenFamily, kind: str, ttl_s: int) -> str:
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    ApiToken.objects.create(
        family=family,
        kind=kind,
        digest=token_digest(raw),
        expires_at=timezone.now() + timedelta(seconds=ttl_s),
    )
    return raw


def _issue_pair(family: TokenFamily) -> TokenPair:
    return TokenPair(
        access_token=_new_token(family, TokenKind.ACCESS, settings.ACCESS_TOKEN_TTL_S),
        refresh_token=_new_token(family, TokenKind.REFRESH, settings.REFRESH_TOKEN_TTL_S),
        expires_in=settings.ACCESS_TOKEN_TTL_S,
        family_id=family.id,
    )


@transaction.atomic
def token_pair_issue(*, user: AbstractBaseUser, audience: str, device_id: str) -> TokenPair:
    """Sign-in on a device. A new sign-in on the same device ends the previous one there."""
    now = timezone.now()
    TokenFamily.objects.filter(
        user=user, audience=audience, device_id=device_id, revoked_at__isnull=True
    ).update(revoked_at=now, revoked_reason="replaced")
    family = TokenFamily.objects.create(user=user, audience=audience, device_id=device_id)
    return _issue_pair(family)


def token_authenticate(*, raw: str, audience: str) -> Authenticated | None:
    token = (
        ApiToken.objects.select_related("family", "family__user")
        .filter(
            digest=token_digest(raw),
            kind=TokenKind.ACCESS,
            family__audience=audience,
            family__revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )
    if token is None or not token.family.user.is_active:
        return None
    return Authenticated(user=token.family.user, family=token.family)


def token_pair_refresh(*, raw_refresh: str, audience: str) -> TokenPair:
    """Rotate. A reused refresh token revokes the family and fails (committed, not rolled back)."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .select_related("family", "family__user")
            .filter(digest=token_digest(raw_refresh), kind=TokenKind.REFRESH)
            .first()
        )
        if token is None or token.family.audience != audience:
            raise Problem(401, "invalid_refresh_token", ERR_BAD_REFRESH)
        family = token.family
        if token.used_at is not None:
            _revoke(family, reason="refresh_reuse")
            reused = True
        else:
            reused = False
            if (
                family.revoked_at is not None
                or token.expires_at <= timezone.now()
                or not family.user.is_active
            ):
                raise Problem(401, "invalid_refresh_token", ERR_BAD_REFRESH)
            token.used_at = timezone.now()
            token.save(update_fields=["used_at"])
            pair = _issue_pair(family)
    if reused:
        raise Problem(401, "refresh_token_reused", ERR_REFRESH_REUSED)
    return pair


def _revoke(family: TokenFamily, *, reason: str) -> None:
    if family.revoked_at is None:
        family.revoked_at = timezone.now()
        family.revoked_reason = reason
        family.save(update_fields=["revoked_at", "revoked_reason"])


@transaction.atomic
def token_family_revoke(*, family: TokenFamily, reason: str = "logout") -> None:
    """Logout: every token of this device's sign-in stops working."""
    _revoke(family, reason=reason)


@transaction.atomic
def token_families_revoke_for_user(*, user: AbstractBaseUser, reason: str) -> int:
    return TokenFamily.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
