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
import logging
import secrets
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import APIKeyHeader
from redis import Redis
from redis.exceptions import RedisError

from backend.audit import audit_append
from backend.errors import Problem
from credit.models import TenderCall, TenderClient
from credit.signing import sign, string_to_sign

ERR_MISSING_HEADERS = "缺少签名请求头（X-Client-Id、X-Timestamp、X-Nonce、X-Signature）。"
ERR_UNKNOWN_CLIENT = "客户端标识无效或已停用。"
ERR_STALE = "请求时间戳与服务器时间相差超过 {skew} 秒。"
ERR_BAD_NONCE = "X-Nonce 须为 16 到 128 个字符。"
ERR_BAD_SIGNATURE = "请求签名不正确。"
ERR_REPLAYED = "该 nonce 已使用过，请求被视为重放。"

logger = logging.getLogger(__name__)

NONCE_MIN, NONCE_MAX = 16, 128
# A request is accepted within TENDER_MAX_SKEW_S of server time either way, so a nonce must be
# remembered for twice that long to refuse every replay the clock check lets through.
NONCE_WINDOW_FACTOR = 2
NONCE_KEY = "tender:nonce:{client}:{nonce}"
CLIENT_ID_BYTES = 8  # 16 hex characters: unique among a handful of platforms, easy to read
SECRET_BYTES = 32  # 256-bit HMAC key, as long as the SHA-256 block needs to be strong
# Call rows are the audit of look-ups: kept a year, like the bureau's other access logs.
CALL_RETENTION = timedelta(days=366)


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
    TenderClient. The nonce is checked when the call is recorded (`tender_call_record`), once
    the answer is known and before it is sent. Returns the cached ActiveClient."""

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
            body=request.body,
        )
        if not hmac.compare_digest(sign(secret=client.secret, message=message), key.lower()):
            raise Problem(401, "bad_signature", ERR_BAD_SIGNATURE)
        request.tender_nonce = nonce
        return client


def tender_call_record(*, request: HttpRequest, status: int, snapshot_id: int | None) -> None:
    """Refuse a replayed nonce (401 replayed_request), then write the call's audit row.

    With Redis (REDIS_URL) the nonce is claimed there first: SET NX EX is atomic across every
    web process, so replay protection does not depend on when the row reaches disk, and the
    row is committed without waiting for the WAL flush. Without Redis, or while it is
    unreachable, the row's unique (client, nonce) is the guard and commits durably. The unique
    constraint stays in force in both cases, so a nonce Redis forgot (a restart) is still
    refused by the database."""
    client_pk, nonce = request.auth.id, request.tender_nonce
    claimed = _nonce_claimed_in_redis(client_pk=client_pk, nonce=nonce)
    if claimed is False:
        raise Problem(401, "replayed_request", ERR_REPLAYED)
    call = TenderCall(
        client_id=client_pk,
        nonce=nonce,
        at=timezone.now(),
        method=request.method or "",
        path=request.path[:300],
        query=request.META.get("QUERY_STRING", "")[:300],
        status=status,
        snapshot_id=snapshot_id,
    )
    try:
        if claimed and connection.vendor == "postgresql" and not connection.in_atomic_block:
            _insert_without_waiting_for_disk(call)
        else:
            _insert_durably(call)
    except IntegrityError as exc:
        raise Problem(401, "replayed_request", ERR_REPLAYED) from exc


def _nonce_claimed_in_redis(*, client_pk: int, nonce: str) -> bool | None:
    """True: first use, claimed; False: seen within the window; None: no Redis to ask."""
    if not settings.REDIS_URL:
        return None  # the local-memory cache is per process: no guard at all
    key = NONCE_KEY.format(client=client_pk, nonce=nonce)
    window_s = NONCE_WINDOW_FACTOR * settings.TENDER_MAX_SKEW_S
    try:
        return bool(_redis(settings.REDIS_URL).set(key, 1, nx=True, ex=window_s))
    except RedisError:
        logger.warning("Redis unreachable: the tender nonce is guarded by the database alone")
        return None


# Redis timeouts: an answer normally takes well under a millisecond; past these the database
# guards alone rather than leaving the tender platform waiting.
REDIS_CONNECT_TIMEOUT_S = 0.5
REDIS_TIMEOUT_S = 0.5
_redis_lock = threading.Lock()
_redis_clients: dict[str, Redis] = {}


def _redis(url: str) -> Redis:
    """One client (and connection pool) per process and URL. Not Django's cache: its Redis
    backend builds a client object for every operation, a third of a look-up's CPU time."""
    client = _redis_clients.get(url)
    if client is None:
        with _redis_lock:
            client = _redis_clients.setdefault(
                url,
                Redis.from_url(
                    url,
                    socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
                    socket_timeout=REDIS_TIMEOUT_S,
                ),
            )
    return client


def _insert_durably(call: TenderCall) -> None:
    # In autocommit (web requests) the INSERT is its own transaction: one round trip. Inside a
    # caller's transaction a savepoint keeps that transaction usable after a duplicate.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint:
        call.save(force_insert=True)


# TenderCall's table and columns (tests/credit/test_tender_nonce.py writes rows through it).
_ASYNC_INSERT_SQL = (
    "SET LOCAL synchronous_commit TO OFF; "
    "INSERT INTO credit_tendercall "
    "(client_id, nonce, at, action, method, path, query, status, snapshot_id) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _insert_without_waiting_for_disk(call: TenderCall) -> None:
    """One round trip: both statements travel in one simple query, which PostgreSQL runs as one
    implicit transaction, so SET LOCAL covers exactly this INSERT. An asynchronous commit is
    visible at once (the unique index refuses a duplicate immediately); a database crash can
    lose the last fraction of a second of call rows, which is acceptable for the look-up log
    while replay protection for those nonces stays in Redis. A duplicate rolls the implicit
    transaction back and leaves the connection idle."""
    with connection.cursor() as cursor:
        cursor.execute(
            _ASYNC_INSERT_SQL,
            [
                call.client_id,
                call.nonce,
                call.at,
                call.action,
                call.method,
                call.path,
                call.query,
                call.status,
                call.snapshot_id,
            ],
        )


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


def tender_calls_purge(*, older_than: timedelta = CALL_RETENTION) -> int:
    """Drop call rows past the retention period. Replays stay refused as long as rows outlive
    twice the clock-skew window (older requests fail the timestamp check first)."""
    cutoff = timezone.now() - max(older_than, timedelta(seconds=2 * settings.TENDER_MAX_SKEW_S))
    deleted, _ = TenderCall.objects.filter(at__lt=cutoff).delete()
    return deleted
