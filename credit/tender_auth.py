"""HMAC request verification of the tender API (CONTRACTS.md); the signing itself is in
`credit.signing`.

The client signs, with its secret, the lines
    METHOD \\n PATH \\n QUERY \\n TIMESTAMP \\n NONCE \\n SHA256_HEX(BODY)
and sends `X-Client-Id`, `X-Timestamp` (unix seconds), `X-Nonce` (16–128 characters) and
`X-Signature` (lowercase hex HMAC-SHA256). PATH is the full request path
(`/api/tender/v1/enterprises/…`); QUERY is the raw query string split on "&", pieces sorted by
parameter name (stable, no re-encoding), joined by "&" — empty when there is none.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from ninja.security import APIKeyHeader

from backend.audit import audit_append
from backend.errors import Problem
from credit.models import TenderClient
from credit.signing import sign, string_to_sign

ERR_MISSING_HEADERS = "缺少签名请求头（X-Client-Id、X-Timestamp、X-Nonce、X-Signature）。"
ERR_UNKNOWN_CLIENT = "客户端标识无效或已停用。"
ERR_STALE = "请求时间戳与服务器时间相差超过 {skew} 秒。"
ERR_BAD_NONCE = "X-Nonce 须为 16 到 128 个字符。"
ERR_BAD_SIGNATURE = "请求签名不正确。"

NONCE_MIN, NONCE_MAX = 16, 128
CLIENT_ID_BYTES = 8  # 16 hex characters: unique among a handful of platforms, easy to read
SECRET_BYTES = 32  # 256-bit HMAC key, as long as the SHA-256 block needs to be strong


@dataclass(frozen=True)
class ActiveClient:
    id: int
    client_id: str
    secret: str


# Clients change rarely; switching one off takes effect within this many seconds everywhere.
CLIENT_CACHE_TTL_S = 30.0
_clients_lock = threading.Lock()
_clients: dict[str, tuple[float, ActiveClient | None]] = {}


def active_client(client_id: str) -> ActiveClient | None:
    now = time.monotonic()
    with _clients_lock:
        cached = _clients.get(client_id)
    if cached is not None and now - cached[0] < CLIENT_CACHE_TTL_S:
        return cached[1]
    row = (
        TenderClient.objects.filter(client_id=client_id, is_active=True)
        .values_list("id", "client_id", "secret")
        .first()
    )
    client = ActiveClient(*row) if row else None
    with _clients_lock:
        if len(_clients) > 1000:  # unknown ids sent by strangers must not grow it for ever
            _clients.clear()
        _clients[client_id] = (now, client)
    return client


def clear_client_cache() -> None:
    with _clients_lock:
        _clients.clear()


class TenderSignatureAuth(APIKeyHeader):
    """Ninja auth: checks the headers, the client, the clock and the signature, and returns the
    cached ActiveClient. The nonce is claimed when the call is recorded
    (`credit.tender_calls.tender_call_record`, once the answer is known) and the claim's reply
    read by `credit.middleware.TenderClaimMiddleware` before the answer is sent."""

    param_name = "X-Signature"

    def authenticate(self, request: HttpRequest, key: str | None) -> ActiveClient:
        client_id = request.headers.get("X-Client-Id")
        timestamp = request.headers.get("X-Timestamp")
        nonce = request.headers.get("X-Nonce")
        if not (key and client_id and timestamp and nonce):
            raise Problem(401, "missing_signature", ERR_MISSING_HEADERS)
        client = active_client(client_id)
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
            body=_body(request),
        )
        if not hmac.compare_digest(sign(secret=client.secret, message=message), key.lower()):
            raise Problem(401, "bad_signature", ERR_BAD_SIGNATURE)
        request.tender_nonce = nonce
        return client


def _body(request: HttpRequest) -> bytes:
    # Django reads no body without a Content-Length either; skipping the read spares a GET
    # (every look-up) the stream machinery.
    if request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        return b""
    return request.body


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
