"""Replay protection and the call record of the tender API (credit.tender_calls).

With Redis (REDIS_URL) one script claims the nonce and queues the call; the flush task moves the
queue into PostgreSQL. Without Redis, or while it is unreachable, the call row is written in the
request and its unique (client, nonce) refuses the replay."""

import json
import logging
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test import RequestFactory, override_settings
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis

from credit.checks import tender_claim_middleware_installed
from credit.models import TenderCall, TenderClient
from credit.signing import signed_headers
from credit.tender_auth import tender_client_create
from credit.tender_calls import (
    CALLS_KEY,
    FLUSH_LOCK_KEY,
    NONCE_KEY,
    Call,
    _redis,
    tender_call_record,
    tender_calls_flush,
    tender_calls_queued,
    tender_claim_pending,
    tender_claim_settle,
)
from tests.credit.conftest import publish
from tests.harness import services as svc

NO_REDIS = {"REDIS_URL": ""}
ROW_FIELDS = ("client_id", "action", "method", "path", "query", "status", "snapshot_id")


@pytest.fixture
def redis_guard(services):
    """A client of the session's real Redis, the nonce guard (the harness exports REDIS_URL)."""
    if services.redis is None:
        pytest.skip("no Redis in this run: " + services.missing.get("redis", "embedded"))
    client = Redis.from_url(settings.REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def tender_client():
    return tender_client_create(name="自治区公共资源交易平台")


def signed(tender_client, path):
    tender, secret = tender_client
    return signed_headers(client_id=tender.client_id, secret=secret, method="GET", path=path)


def nonce_key(tender_client, headers):
    return NONCE_KEY.format(client=tender_client[0].id, nonce=headers["X-Nonce"])


def statuses(client, path, headers, times=2):
    return [
        (r.status_code, r.json().get("code"))
        for r in (client.get(path, headers=headers) for _ in range(times))
    ]


def stored(nonce):
    return list(TenderCall.objects.filter(nonce=nonce).values_list(*ROW_FIELDS))


@pytest.mark.django_db
def test_with_redis_the_call_is_queued_not_written_and_a_replay_is_401(
    client, firm, tender_client, redis_guard
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    answers = statuses(client, path, headers)

    assert answers == [(200, None), (401, "replayed_request")]
    assert redis_guard.get(nonce_key(tender_client, headers)) == b"1"
    assert 0 < redis_guard.ttl(nonce_key(tender_client, headers)) <= 2 * 300
    assert tender_calls_queued() == 1  # the replay was refused before anything was queued
    assert stored(headers["X-Nonce"]) == []


@pytest.mark.django_db
def test_the_flush_stores_each_queued_call_exactly_and_empties_the_queue(
    client, firm, tender_client, redis_guard
):
    snapshot = publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    first, second = signed(tender_client, path), signed(tender_client, path)
    client.get(path, headers=first)
    client.get(path, headers=second)

    moved = tender_calls_flush()

    row = (tender_client[0].id, "tender.lookup", "GET", path, "", 200, snapshot.id)
    assert moved == 2
    assert stored(first["X-Nonce"]) == [row]
    assert stored(second["X-Nonce"]) == [row]
    assert tender_calls_queued() == 0
    assert tender_calls_flush() == 0


@pytest.mark.django_db
def test_a_flush_that_died_before_its_trim_stores_nothing_twice(
    client, firm, tender_client, redis_guard
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    client.get(path, headers=headers)
    queued = redis_guard.lrange(CALLS_KEY, 0, -1)

    tender_calls_flush()
    redis_guard.rpush(CALLS_KEY, *queued)  # as if the flush had committed but not trimmed
    again = tender_calls_flush()

    assert again == 0
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1
    assert tender_calls_queued() == 0


@pytest.mark.django_db
def test_the_flush_moves_a_backlog_in_batches(client, firm, tender_client, redis_guard):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    nonces = [signed(tender_client, path) for _ in range(7)]
    for headers in nonces:
        client.get(path, headers=headers)

    moved = tender_calls_flush(batch=3)

    assert moved == 7
    assert set(TenderCall.objects.values_list("nonce", flat=True)) == {h["X-Nonce"] for h in nonces}


@pytest.mark.django_db
def test_unreadable_items_and_deleted_clients_are_dropped_and_logged_not_blocking(
    client, firm, tender_client, redis_guard, caplog
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    redis_guard.rpush(CALLS_KEY, b"not json", json.dumps([1, 2]))
    gone = TenderClient.objects.order_by("-pk").first().pk + 1
    redis_guard.rpush(CALLS_KEY, json.dumps([gone, "n" * 16, "GET", path, "", 200, None, 1e9]))
    client.get(path, headers=headers)

    with caplog.at_level(logging.ERROR, logger="credit.tender_calls"):
        moved = tender_calls_flush()

    assert moved == 1
    assert TenderCall.objects.get().nonce == headers["X-Nonce"]
    assert tender_calls_queued() == 0
    assert caplog.text.count("dropped an unreadable item") == 2
    assert f"dropped a call of deleted client {gone}" in caplog.text


@pytest.mark.django_db
def test_only_one_flush_runs_at_a_time(client, firm, tender_client, redis_guard):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    client.get(path, headers=signed(tender_client, path))
    redis_guard.set(FLUSH_LOCK_KEY, "another flush", ex=60)

    moved = tender_calls_flush()

    assert moved == 0
    assert tender_calls_queued() == 1
    assert redis_guard.get(FLUSH_LOCK_KEY) == b"another flush"  # not released by us


@pytest.mark.django_db
def test_the_trim_leaves_the_queue_alone_when_its_head_changed(redis_guard):
    redis_guard.rpush(CALLS_KEY, b"a", b"b", b"c")
    trim = _redis(settings.REDIS_URL).trim

    refused = trim(keys=[CALLS_KEY], args=[2, b"x", b"b"])
    done = trim(keys=[CALLS_KEY], args=[2, b"a", b"b"])

    assert (refused, done) == (0, 1)
    assert redis_guard.lrange(CALLS_KEY, 0, -1) == [b"c"]


@pytest.mark.django_db
def test_a_replay_redis_let_through_after_losing_the_nonce_is_stored_once_and_reported(
    client, firm, tender_client, redis_guard, caplog
):
    """Redis restarted without its append-only file: the nonce is gone, so the replay is
    answered; the flush notices the second call of the nonce and reports it."""
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    client.get(path, headers=headers)
    tender_calls_flush()

    redis_guard.delete(nonce_key(tender_client, headers))
    replay = client.get(path, headers=headers)
    with caplog.at_level(logging.WARNING, logger="credit.tender_calls"):
        moved = tender_calls_flush()

    assert replay.status_code == 200
    assert moved == 0
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1
    assert "replayed while Redis had lost its nonce" in caplog.text


@pytest.mark.django_db
def test_without_redis_the_row_is_written_in_the_request_and_refuses_the_replay(
    client, firm, tender_client
):
    snapshot = publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    with override_settings(**NO_REDIS):
        answers = statuses(client, path, headers)
        assert tender_calls_queued() is None
        assert tender_calls_flush() == 0

    assert answers == [(200, None), (401, "replayed_request")]
    row = (tender_client[0].id, "tender.lookup", "GET", path, "", 200, snapshot.id)
    assert stored(headers["X-Nonce"]) == [row]


@pytest.mark.django_db
def test_with_redis_unreachable_the_database_guards_alone(client, firm, tender_client, caplog):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    nobody_listens = f"redis://127.0.0.1:{svc.free_port()}/0"

    with override_settings(REDIS_URL=nobody_listens):
        answers = statuses(client, path, headers)

    assert answers == [(200, None), (401, "replayed_request")]
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1
    assert "Redis unreachable" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_in_autocommit_a_duplicate_nonce_is_refused_and_the_connection_stays_usable(
    client, firm, tender_client
):
    """Web requests run in autocommit: without Redis the INSERT is its own transaction, and a
    duplicate there leaves the connection ready for the next request."""
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    with override_settings(**NO_REDIS):
        first = client.get(path, headers=headers)
        replay = client.get(path, headers=headers)
        after = client.get(path, headers=signed(tender_client, path))

    assert (first.status_code, replay.status_code, after.status_code) == (200, 401, 200)
    assert replay.json()["code"] == "replayed_request"
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1
    assert connection.in_atomic_block is False


def signed_call_request(tender_client, nonce):
    """A request as `recorded` sees it after authentication, for driving the claim directly."""
    request = RequestFactory().get("/api/tender/v1/enterprises/91150100MA0000001X")
    request.auth, request.tender_nonce = tender_client[0], nonce
    return request


@pytest.mark.django_db
def test_a_claim_whose_reply_was_never_read_does_not_answer_the_next_one(
    client, firm, tender_client, redis_guard
):
    """An answer that never reached the middleware leaves its reply unread on the thread's
    connection; the next claim must not take that stale "claimed" for its own."""
    publish()
    orphan = signed_call_request(tender_client, "orphan-nonce-0001")
    tender_call_record(request=orphan, status=200, snapshot_id=None)  # sent, never settled
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    client.get(path, headers=headers)

    replay = client.get(path, headers=headers)

    assert (replay.status_code, replay.json()["code"]) == (401, "replayed_request")
    assert redis_guard.get(nonce_key(tender_client, headers)) == b"1"


@pytest.mark.django_db
def test_after_redis_forgot_the_claim_script_lookups_and_replays_still_answer_right(
    client, firm, tender_client, redis_guard
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    redis_guard.script_flush()  # as after a Redis restart

    answers = statuses(client, path, headers)

    assert answers == [(200, None), (401, "replayed_request")]
    assert tender_calls_queued() == 1


@pytest.mark.django_db
def test_a_claim_reply_lost_on_the_way_falls_back_to_the_database_and_is_stored_once(
    tender_client, redis_guard, caplog
):
    """Redis ran the claim but the connection broke before its reply was read: the call is
    written to the database at once, and the flush then finds it stored and skips the copy."""
    request = signed_call_request(tender_client, "lost-reply-nonce-01")
    tender_call_record(request=request, status=200, snapshot_id=None)
    pending = tender_claim_pending(request)
    while redis_guard.llen(CALLS_KEY) == 0:  # Redis has run it
        pass
    pending.link.disconnect()

    tender_claim_settle(pending)
    moved = tender_calls_flush()

    assert "Redis unreachable" in caplog.text
    assert TenderCall.objects.filter(nonce="lost-reply-nonce-01").count() == 1
    assert moved == 0


def test_the_claim_middleware_is_required_by_a_system_check(settings):
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if name != "credit.middleware.TenderClaimMiddleware"
    ]

    errors = tender_claim_middleware_installed(None)

    assert [error.id for error in errors] == ["credit.E001"]


def test_the_claim_middleware_is_installed():
    assert tender_claim_middleware_installed(None) == []


@given(
    client_id=st.integers(min_value=1, max_value=2**63 - 1),
    nonce=st.text(min_size=16, max_size=128),
    path=st.text(max_size=300),
    query=st.text(max_size=300),
    status=st.integers(min_value=100, max_value=599),
    snapshot_id=st.none() | st.integers(min_value=1, max_value=2**63 - 1),
    at=st.floats(min_value=0, max_value=4e9),
)
def test_a_queued_call_reads_back_as_it_was_written(
    client_id, nonce, path, query, status, snapshot_id, at
):
    call = Call(client_id, nonce, "GET", path, query, status, snapshot_id, at)

    again = Call.from_json(call.to_json().encode())

    assert again == call
    assert again.as_row().at == datetime.fromtimestamp(at, tz=UTC)
