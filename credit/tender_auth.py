"""HMAC request signing of the tender API (CONTRACTS.md).

The client signs, with its secret, the lines
    METHOD \\n PATH \\n QUERY \\n TIMESTAMP \\n NONCE \\n SHA256_HEX(BODY)
and sends `X-Client-Id`, `X-Timestamp` (unix seconds), `X-Nonce` (16–128 characters) and
`X-Signature` (lowercase hex HMAC-SHA256). PATH is the full request path
(`/api/tender/v1/enterprises/…`); QUERY is the raw query string split on "&", pieces sorted by
parameter name (stable, no re-encoding), joined by "&" — empty when there is none.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader

from backend.audit import audit_append
from backend.errors import Problem
from credit.models import TenderClient, TenderNonce

ERR_MISSING_HEADERS = "缺少签名请求头（X-Client-Id、X-Timestamp、X-Nonce、X-Signature）。"
ERR_UNKNOWN_CLIENT = "客户端标识无效或已停用。"
ERR_STALE = "请求时间戳与服务器时间相差超过 {skew} 秒。"
ERR_BAD_NONCE = "X-Nonce 须为 16 到 128 个字符。"
ERR_BAD_SIGNATURE = "请求签名不正确。"
ERR_REPLAYED = "该 nonce 已使用过，请求被视为重放。"

NONCE_MIN, NONCE_MAX = 16, 128
CLIENT_ID_BYTES = 8  # 16 hex characters: unique among a handful of platforms, easy to read
SECRET_BYTES = 32  # 256-bit HMAC key, as long as the SHA-256 block needs to be strong


def canonical_query(query_string: str) -> str:
    pieces = [piece for piece in query_string.split("&") if piece]
    return "&".join(sorted(pieces, key=lambda piece: piece.split("=", 1)[0]))


def string_to_sign(
    *, method: str, path: str, query_string: str, timestamp: str, nonce: str, body: bytes
) -> str:
    return "\n".join(
        [
            method.upper(),
            path,
            canonical_query(query_string),
            timestamp,
            nonce,
            hashlib.sha256(body).hexdigest(),
        ]
    )


def sign(*, secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    client_id: str,
    secret: str,
    method: str,
    path: str,
    query_string: str = "",
    body: bytes = b"",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers a client sends (used by tests, benchmarks and as a reference implementation)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    message = string_to_sign(
        method=method, path=path, query_string=query_string, timestamp=ts, nonce=nonce, body=body
    )
    return {
        "X-Client-Id": client_id,
        "X-Timestamp": ts,
        "X-Nonce": nonce,
        "X-Signature": sign(secret=secret, message=message),
    }


class TenderSignatureAuth(APIKeyHeader):
    """Ninja auth: verifies the signature, then records the nonce (after the signature, so a
    forger cannot burn a client's nonces). Returns the TenderClient."""

    param_name = "X-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> TenderClient:
        client_id = request.headers.get("X-Client-Id")
        timestamp = request.headers.get("X-Timestamp")
        nonce = request.headers.get("X-Nonce")
        if not (key and client_id and timestamp and nonce):
            raise Problem(401, "missing_signature", ERR_MISSING_HEADERS)
        client = TenderClient.objects.filter(client_id=client_id, is_active=True).first()
        if client is None:
            raise Problem(401, "unknown_client", ERR_UNKNOWN_CLIENT)
        skew = settings.TENDER_MAX_SKEW_S
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > skew:
            raise Problem(401, "stale_request", ERR_STALE.format(skew=skew))
        if not NONCE_MIN <= len(nonce) <= NONCE_MAX:
            raise Problem(401, "invalid_nonce", ERR_BAD_NONCE)
        message = string_to_sign(
            method=request.method or "",
            path=request.path,
            query_string=request.META.get("QUERY_STRING", ""),
            timestamp=timestamp,
            nonce=nonce,
            body=request.body,
        )
        if not hmac.compare_digest(sign(secret=client.secret, message=message), key.lower()):
            raise Problem(401, "bad_signature", ERR_BAD_SIGNATURE)
        try:
            with transaction.atomic():
                TenderNonce.objects.create(client=client, nonce=nonce, seen_at=timezone.now())
        except IntegrityError as exc:
            raise Problem(401, "replayed_request", ERR_REPLAYED) from exc
        return client


def tender_client_create(*, name: str) -> tuple[TenderClient, str]:
    """A new client and its secret (returned once, to hand to the platform)."""
    secret = secrets.token_hex(SECRET_BYTES)
    with transaction.atomic():
        client = TenderClient.objects.create(
            client_id="tc_" + secrets.token_hex(CLIENT_ID_BYTES), name=name, secret=secret
        )
        audit_append(
            actor="system",
            action="tender.client_created",
            object_type="tender_client",
            object_id=client.client_id,
            payload={"name": name},
        )
    return client, secret


def tender_nonces_purge() -> int:
    """Nonces older than twice the skew window can never be replayed (the timestamp check
    refuses the request first), so their rows are dropped."""
    cutoff = timezone.now() - timedelta(seconds=2 * settings.TENDER_MAX_SKEW_S)
    deleted, _ = TenderNonce.objects.filter(seen_at__lt=cutoff).delete()
    return deleted
