"""The record of signed tender calls, and the replay guard that rides on it.

Every signed call leaves one `TenderCall` row (who asked what, when, the status, the answering
snapshot), and no nonce may be used twice within the clock-skew window. How that is done
depends on whether Redis is configured (REDIS_URL):

- With Redis (production, the test suite): one Lua script claims the nonce (SET NX EX, atomic
  across every web process) and, only if the claim succeeds, appends the call to the
  `tender:calls` list — one round trip, no database work in the request. The view sends the
  script as soon as it has its answer and does not wait (`tender_call_record`, on a connection
  of its own thread); `credit.middleware.TenderClaimMiddleware` reads the reply just before
  the answer leaves (`tender_claim_settle`), so Redis works while Django finishes the
  response. A nonce seen before replaces the answer with 401 replayed_request; nothing of it
  has been sent. A reply that never comes (Redis died mid-call) falls back to the durable
  insert below. The worker's `credit.flush_tender_calls` task (every few seconds, beat) moves
  the list into PostgreSQL in batches. Redis keeps the list on disk (compose: appendonly,
  fsync every second), so a restart loses at most the last second of calls; the guard itself
  needs only the nonce keys, which outlive every request the timestamp check still admits
  (twice the skew window).
- Without Redis (the embedded `make run`), or while Redis is unreachable: the row is written
  durably inside the request, and its unique (client, nonce) pair refuses the replay.

The unique pair stays in force in both cases: flushing the same call twice (a flush that died
between its commit and its trim) stores it once, and a replay that Redis let through because it
had lost the nonce (a restart without its append-only file) is stored once and logged as such.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from redis import Redis
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.connection import Connection
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from backend.errors import Problem
from credit.models import TenderCall, TenderClient

ERR_REPLAYED = "该 nonce 已使用过，请求被视为重放。"
ERR_DELETED_CLIENT = "tender call queue: dropped a call of deleted client %s"
WARN_UNREACHABLE = "Redis unreachable: the tender nonce is guarded by the database alone"
WARN_REPLAY_THROUGH = (
    "tender call replayed while Redis had lost its nonce (client %s, %s): answered, stored once"
)

logger = logging.getLogger(__name__)

# A request is accepted within TENDER_MAX_SKEW_S of server time either way, so a nonce must be
# remembered for twice that long to refuse every replay the clock check lets through.
NONCE_WINDOW_FACTOR = 2
NONCE_KEY = "tender:nonce:{client}:{nonce}"
CALLS_KEY = "tender:calls"
FLUSH_LOCK_KEY = "tender:calls:flush-lock"
# One flush moves at most this many calls per transaction (one multi-row INSERT of about
# 200 KB), and a backlog after a worker outage drains in a loop of such batches.
FLUSH_BATCH = 1000
# Longer than any flush takes; a flush that died holding the lock only delays the next one.
FLUSH_LOCK_TTL_S = 60
# Call rows are the audit of look-ups: kept a year, like the bureau's other access logs.
CALL_RETENTION = timedelta(days=366)
# Redis timeouts: an answer normally takes well under a millisecond; past these the database
# guards alone rather than leaving the tender platform waiting.
REDIS_CONNECT_TIMEOUT_S = 0.5
REDIS_TIMEOUT_S = 0.5

# KEYS: nonce key, calls list. ARGV: window seconds, the call as JSON. 1 = claimed and queued.
_CLAIM_LUA = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""
# KEYS: calls list. ARGV: count, first and last item read. Trims the items a flush has stored,
# only if they are still the head of the list (another flush may have trimmed them already;
# every item holds a unique nonce, so equal ends mean the same items).
_TRIM_LUA = """
local n = tonumber(ARGV[1])
local head, tail = redis.call('LINDEX', KEYS[1], 0), redis.call('LINDEX', KEYS[1], n - 1)
if head == ARGV[2] and tail == ARGV[3] then
  redis.call('LTRIM', KEYS[1], n, -1)
  return 1
end
return 0
"""
# KEYS: the lock. ARGV: its token. Releases the lock only if it is still ours.
_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class _RedisHandles:
    client: Redis
    claim: Script
    trim: Script
    unlock: Script


_redis_lock = threading.Lock()
_redis_handles: dict[str, _RedisHandles] = {}


def _redis(url: str) -> _RedisHandles:
    """One client (and connection pool) per process and URL, with the scripts registered (they
    run by SHA, re-sent automatically after a Redis restart). Not Django's cache: its Redis
    backend builds a client object for every operation, a third of a look-up's CPU time."""
    handles = _redis_handles.get(url)
    if handles is None:
        with _redis_lock:
            handles = _redis_handles.get(url)
            if handles is None:
                client = Redis.from_url(
                    url,
                    socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
                    socket_timeout=REDIS_TIMEOUT_S,
                )
                handles = _RedisHandles(
                    client=client,
                    claim=client.register_script(_CLAIM_LUA),
                    trim=client.register_script(_TRIM_LUA),
                    unlock=client.register_script(_UNLOCK_LUA),
                )
                _redis_handles[url] = handles
    return handles


# --- recording a call (the request path) -------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One signed call as the request knows it. The queued path never builds a model instance:
    that costs tens of microseconds on every look-up, a tenth of the whole request."""

    client_id: int
    nonce: str
    method: str
    path: str
    query: str
    status: int
    snapshot_id: int | None
    at: float  # unix seconds

    def as_row(self) -> TenderCall:
        columns = {name: getattr(self, name) for name in _ROW_FIELDS}
        return TenderCall(**columns, at=datetime.fromtimestamp(self.at, tz=UTC))

    def to_json(self) -> str:
        # Field order, as from_json reads it back (dataclasses.astuple deep-copies: slower).
        values = [
            self.client_id,
            self.nonce,
            self.method,
            self.path,
            self.query,
            self.status,
            self.snapshot_id,
            self.at,
        ]
        return json.dumps(values, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: bytes) -> Call:
        return cls(*json.loads(raw))


_ROW_FIELDS = ("client_id", "nonce", "method", "path", "query", "status", "snapshot_id")


@dataclass(frozen=True)
class PendingClaim:
    """A claim sent on `link` whose reply is still to be read."""

    call: Call
    link: Connection


# Where a sent claim waits on the request for `TenderClaimMiddleware`.
PENDING_CLAIM_ATTR = "tender_pending_claim"
# A claim connection idle this long is checked with a PING (and reconnected once) before it
# carries a claim: a claim sent on a dead connection could only fall back to the database.
CLAIM_HEALTH_CHECK_S = 10

# Each thread's own claim connection (`link`): a claim is sent and its reply read later in the
# same request, so the connection cannot go back to a shared pool in between. `unsettled`
# marks a sent claim whose reply was not read (an answer that never reached the middleware):
# that connection is dropped, or the stale reply would answer the next claim.
_claims = threading.local()


def tender_call_record(*, request: HttpRequest, status: int, snapshot_id: int | None) -> None:
    """Record the call once its answer is known. With Redis the claim of its nonce (and the
    queued call) is sent now and its reply read by `TenderClaimMiddleware` just before the
    answer leaves — the round trip overlaps the response middleware instead of stalling the
    request, which was a third of a look-up's cost. Without Redis, or when Redis cannot be
    reached, the row is written to the database now, whose unique (client, nonce) is then the
    guard (401 replayed_request)."""
    call = Call(
        client_id=request.auth.id,
        nonce=request.tender_nonce,
        method=request.method or "",
        path=request.path[:300],
        query=request.META.get("QUERY_STRING", "")[:300],
        status=status,
        snapshot_id=snapshot_id,
        at=time.time(),
    )
    pending = _send_claim(call)
    if pending is None:
        _insert_durably(call.as_row())
    else:
        setattr(request, PENDING_CLAIM_ATTR, pending)


def tender_claim_pending(request: HttpRequest) -> PendingClaim | None:
    return getattr(request, PENDING_CLAIM_ATTR, None)


def tender_claim_settle(pending: PendingClaim) -> None:
    """Read the claim's reply: 401 replayed_request when the nonce was seen within the window.
    When the reply cannot be read, the database guards this call alone (as if Redis had been
    unreachable from the start); if Redis did run the script, the flush later finds the same
    call already stored and skips it."""
    _claims.unsettled = False
    try:
        claimed = pending.link.read_response()
    except NoScriptError:  # Redis restarted and forgot the script: one ordinary call loads it
        claimed = _claim_by_script(pending.call)
    except RedisError:
        pending.link.disconnect()
        logger.warning(WARN_UNREACHABLE)
        claimed = None
    if claimed is None:
        _insert_durably(pending.call.as_row())
    elif not claimed:
        raise Problem(401, "replayed_request", ERR_REPLAYED)


def _send_claim(call: Call) -> PendingClaim | None:
    """The claim sent and not yet read; None when there is no Redis to ask (not configured,
    or unreachable — logged)."""
    if not settings.REDIS_URL:
        return None  # the local-memory cache is per process: no shared guard at all
    handles = _redis(settings.REDIS_URL)
    link = _claim_link(handles, settings.REDIS_URL)
    try:
        link.send_command("EVALSHA", handles.claim.sha, 2, *_claim_arguments(call))
    except RedisError:
        logger.warning(WARN_UNREACHABLE)
        return None
    _claims.unsettled = True
    return PendingClaim(call=call, link=link)


def _claim_arguments(call: Call) -> tuple:
    """KEYS then ARGV of the claim script."""
    key = NONCE_KEY.format(client=call.client_id, nonce=call.nonce)
    window_s = NONCE_WINDOW_FACTOR * settings.TENDER_MAX_SKEW_S
    return key, CALLS_KEY, window_s, call.to_json()


def _claim_by_script(call: Call) -> bool | None:
    key, calls, window_s, queued = _claim_arguments(call)
    try:
        return bool(_redis(settings.REDIS_URL).claim(keys=[key, calls], args=[window_s, queued]))
    except RedisError:
        logger.warning(WARN_UNREACHABLE)
        return None


def _claim_link(handles: _RedisHandles, url: str) -> Connection:
    """This thread's claim connection to `url` (made on first use, with a health check when
    idle); dropped and remade if it still owes the reply of a claim nobody read."""
    link = getattr(_claims, "link", None)
    if link is None or _claims.url != url:
        if link is not None:
            link.disconnect()
        pool = handles.client.connection_pool
        kwargs = {
            **pool.connection_kwargs,
            "health_check_interval": CLAIM_HEALTH_CHECK_S,
            "retry": Retry(NoBackoff(), 1),
        }
        link = pool.connection_class(**kwargs)
        _claims.link, _claims.url, _claims.unsettled = link, url, False
    elif _claims.unsettled:
        link.disconnect()
        _claims.unsettled = False
    return link


def _insert_durably(row: TenderCall) -> None:
    # In autocommit (web requests) the INSERT is its own transaction: one round trip. Inside a
    # caller's transaction a savepoint keeps that transaction usable after a duplicate.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    try:
        with savepoint:
            row.save(force_insert=True)
    except IntegrityError as exc:
        raise Problem(401, "replayed_request", ERR_REPLAYED) from exc


# --- moving queued calls into the database (the worker) ----------------------------------


def tender_calls_flush(*, batch: int = FLUSH_BATCH) -> int:
    """Move the calls queued in Redis into `TenderCall` rows; returns how many were stored.

    Only one flush runs at a time (a Redis lock); each batch is inserted in one transaction
    and trimmed from the queue only after the commit, so a flush that dies part way loses
    nothing and the next one stores the rest exactly once (a call already stored is skipped).
    Items that cannot be stored — unreadable, or of a client deleted meanwhile — are logged
    and dropped rather than blocking the queue for ever."""
    if not settings.REDIS_URL:
        return 0
    redis = _redis(settings.REDIS_URL)
    token = secrets.token_hex(8)
    if not redis.client.set(FLUSH_LOCK_KEY, token, nx=True, ex=FLUSH_LOCK_TTL_S):
        return 0
    stored = 0
    try:
        while True:
            items = redis.client.lrange(CALLS_KEY, 0, batch - 1)
            if not items:
                break
            with transaction.atomic():
                stored += _store_new(_readable_calls(items))
            if not redis.trim(keys=[CALLS_KEY], args=[len(items), items[0], items[-1]]):
                break  # the queue's head changed under us: leave the rest to the next flush
            if len(items) < batch:
                break
    finally:
        redis.unlock(keys=[FLUSH_LOCK_KEY], args=[token])
    return stored


def _readable_calls(items: list[bytes]) -> list[Call]:
    calls = []
    for raw in items:
        try:
            calls.append(Call.from_json(raw))
        except (ValueError, TypeError):
            logger.error("tender call queue: dropped an unreadable item (%d bytes)", len(raw))
    return calls


def _store_new(calls: list[Call]) -> int:
    """Insert the calls not stored yet. A (client, nonce) already stored with the same time is
    this call flushed before; with another time it is a replay that Redis let through because
    it had lost the nonce (a restart without its append-only file) — stored once, reported."""
    known = set(
        TenderClient.objects.filter(pk__in={c.client_id for c in calls}).values_list(
            "pk", flat=True
        )
    )
    stored_at = _stored_times(calls, known)
    rows = []
    for call in calls:
        row = call.as_row()
        key = (call.client_id, call.nonce)
        if call.client_id not in known:
            logger.error(ERR_DELETED_CLIENT, call.client_id)
        elif key in stored_at:
            if stored_at[key] != row.at:
                logger.warning(WARN_REPLAY_THROUGH, call.client_id, call.path)
        else:
            stored_at[key] = row.at
            rows.append(row)
    # A durable insert of the same nonce (Redis unreachable just then) may land between the
    # read above and this write: skipped too, never a failed batch that blocks the queue.
    TenderCall.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _stored_times(calls: list[Call], clients: set[int]) -> dict[tuple[int, str], datetime]:
    """(client, nonce) → time of the stored call, for the calls of this batch (one indexed
    query: the unique index leads with the client)."""
    rows = TenderCall.objects.filter(
        client_id__in=clients, nonce__in={c.nonce for c in calls}
    ).values_list("client_id", "nonce", "at")
    return {(client_id, nonce): at for client_id, nonce, at in rows}


def tender_calls_queued() -> int | None:
    """Calls waiting in Redis for the flush (None without Redis); for /metrics."""
    if not settings.REDIS_URL:
        return None
    return int(_redis(settings.REDIS_URL).client.llen(CALLS_KEY))


def tender_calls_purge(*, older_than: timedelta = CALL_RETENTION) -> int:
    """Drop call rows past the retention period. Replays stay refused as long as rows outlive
    twice the clock-skew window (older requests fail the timestamp check first)."""
    cutoff = timezone.now() - max(older_than, timedelta(seconds=2 * settings.TENDER_MAX_SKEW_S))
    deleted, _ = TenderCall.objects.filter(at__lt=cutoff).delete()
    return deleted
