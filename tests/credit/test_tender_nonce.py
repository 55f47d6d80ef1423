"""Replay protection of the tender API: the nonce is claimed in Redis when REDIS_URL is set, and
the call row's unique (client, nonce) refuses a replay in every case — without Redis (embedded
mode), when Redis has forgotten the nonce, and when Redis is unreachable."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from redis import Redis

from credit.models import TenderCall
from credit.signing import signed_headers
from credit.tender_auth import NONCE_KEY, tender_client_create
from tests.credit.conftest import publish
from tests.harness import services as svc

NO_REDIS = {"REDIS_URL": ""}


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


@pytest.mark.django_db
def test_with_redis_the_nonce_is_claimed_there_and_a_replay_is_401(
    client, firm, tender_client, redis_guard
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    answers = statuses(client, path, headers)

    assert answers == [(200, None), (401, "replayed_request")]
    assert redis_guard.get(nonce_key(tender_client, headers)) == b"1"
    assert 0 < redis_guard.ttl(nonce_key(tender_client, headers)) <= 2 * 300
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1


@pytest.mark.django_db
def test_without_redis_the_database_refuses_the_replay(client, firm, tender_client):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    with override_settings(**NO_REDIS):
        answers = statuses(client, path, headers)

    assert answers == [(200, None), (401, "replayed_request")]
    assert TenderCall.objects.filter(nonce=headers["X-Nonce"]).count() == 1


@pytest.mark.django_db
def test_a_nonce_redis_forgot_is_still_refused_by_the_database(
    client, firm, tender_client, redis_guard
):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)
    first = client.get(path, headers=headers)

    redis_guard.delete(nonce_key(tender_client, headers))  # as after a Redis restart
    replay = client.get(path, headers=headers)

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["code"]) == (401, "replayed_request")


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
def test_outside_a_transaction_the_row_is_written_without_waiting_for_disk_and_kept_exact(
    client, firm, tender_client, redis_guard
):
    """Web requests run in autocommit: the row goes in with an asynchronous commit (one round
    trip); a duplicate there is refused and leaves the connection usable."""
    snapshot = publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    headers = signed(tender_client, path)

    first = client.get(path, headers=headers)
    redis_guard.delete(nonce_key(tender_client, headers))
    replay = client.get(path, headers=headers)
    after = client.get(path, headers=signed(tender_client, path))

    assert (first.status_code, replay.status_code, after.status_code) == (200, 401, 200)
    assert replay.json()["code"] == "replayed_request"
    assert list(
        TenderCall.objects.filter(nonce=headers["X-Nonce"]).values_list(
            "client_id", "action", "method", "path", "query", "status", "snapshot_id"
        )
    ) == [(tender_client[0].id, "tender.lookup", "GET", path, "", 200, snapshot.id)]
    assert connection.in_atomic_block is False
