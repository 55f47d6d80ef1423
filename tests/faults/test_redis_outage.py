"""Redis (the broker) is down while phones upload, submit and a reviewer confirms: every request
succeeds, and publishing the work each of them queues gives up quickly instead of holding the
request. Once Redis is back, the sweepers catch up from the database (the outbox): photos are
processed and scores recomputed, ending where a run without the outage ends."""

import random
import time
from dataclasses import dataclass

import pytest
import requests

from credit.models import EnterpriseScore
from inspections.models import Photo, PhotoState
from tests.faults.control import settle_with_worker, worker_caught_up
from tests.faults.fingerprint import assert_same_end_state, reset_world, take_fingerprint
from tests.faults.world import (
    build_world,
    confirm_finding,
    phone,
    plan_visit,
    record_visit,
    submit_visit,
)
from tests.mobile_api.phone import metadata

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

PHONES = 2
# A request that queues work may spend the broker's connect timeout (2 s) and one quick retry
# on a dead broker; beyond 3 s a phone on a slow link starts giving up on the request.
MAX_REQUEST_S = 3.0


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    status: int
    seconds: float


class RecordingSession(requests.Session):
    """Remembers the status (0: no answer at all) and duration of every request it sends,
    including those the phone's retry loop resends."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Answer] = []

    def request(self, method, url, *args, **kwargs):
        started, status = time.monotonic(), 0
        try:
            response = super().request(method, url, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            self.answers.append(Answer(method, url, status, time.monotonic() - started))


def tus_upload(session: requests.Session, api: str, token: str, photo) -> None:
    """Create the upload and send every byte in one PATCH, as a phone on a good link does."""
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    created = session.post(
        f"{api}/uploads/",
        headers=headers
        | {
            "Upload-Length": str(len(photo.data)),
            "Upload-Metadata": metadata(
                photo_uuid=str(photo.photo_uuid), content_type="image/jpeg"
            ),
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    session.patch(
        created.headers["Location"],
        data=photo.data,
        headers=headers | {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        timeout=30,
    )


def phones_submit(base_url: str, world, session: RecordingSession) -> None:
    """Each phone records a visit, uploads its photos and submits; the reviewer confirms every
    finding (each confirmation makes a credit record and flags the firm for recompute)."""
    rng = random.Random(21)
    visits = [plan_visit(rng) for _ in range(PHONES)]
    for visit, token in zip(visits, world.inspector_tokens, strict=True):
        app = phone(base_url, token)
        app.http = session
        record_visit(app, visit, project_id=world.project_id)
        for photo in visit.photos:
            tus_upload(session, app.api, token, photo)
        submit_visit(app, visit)
    for visit in visits:
        for finding in visit.findings:
            confirm_finding(session, base_url, world.reviewer_token, finding.finding_uuid)


def test_phones_submit_while_redis_is_down(live_server, celery_worker_proc, services, settings):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0  # confirmed findings count at once
    # Given the state a run without the outage ends in
    reset_world()
    world = build_world(inspectors=PHONES)
    phones_submit(live_server.url, world, RecordingSession())
    settle_with_worker()
    baseline = take_fingerprint()

    # When Redis stops after the phones signed in (sign-in keeps its throttle in Redis) and
    # everything else happens while it is down
    reset_world()
    world = build_world(inspectors=PHONES)
    services.redis.stop()
    try:
        session = RecordingSession()
        phones_submit(live_server.url, world, session)
    finally:
        services.redis.start()

    # Then every request succeeded without waiting on the broker
    failed = [a for a in session.answers if not 200 <= a.status < 300]
    slow = [a for a in session.answers if a.seconds > MAX_REQUEST_S]
    assert (failed, slow) == ([], [])
    assert Photo.objects.filter(state=PhotoState.RECEIVED).count() == PHONES * 3
    assert EnterpriseScore.objects.filter(dirty=True).count() == 1

    # and once Redis is back the sweepers catch up: the same end state as without the outage
    assert celery_worker_proc.running, "the worker exited when the broker went away"
    worker_caught_up()  # it reconnected and consumes again
    settle_with_worker()
    assert_same_end_state(baseline, take_fingerprint())
