"""An inspector's day end to end, over real HTTP, with PostgreSQL, Redis, a Celery worker,
SeaweedFS and tuspy: sign in, get tasks, record an inspection with three findings and six
photos (one upload cut half way and resumed), send every request three times, submit, review,
and find the credit record and the recomputed score."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone

from backend.storage import get_store
from credit.models import CreditRecord, EnterpriseScore
from credit.rulebook import load_default_rulebook
from inspections.models import TaskKind
from inspections.services import task_create
from tests.e2e.field_app import FieldApp, Photo
from tests.factories import DEFAULT_PASSWORD
from tests.inspections import imagefactory
from tests.mobile_api.phone import jpeg

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

SENDS = 3  # the first request and two replays
CODES = ("SANITATION", "ABANDON", "PARKING-DISORDER")
# 1 + 2 + 1 photos are the rulebook's minimum; the first two findings get one more each.
PHOTOS_PER_FINDING = (2, 2, 2)
WAIT_S = 90


def send_thrice(request) -> list[int]:
    return [request().status_code for _ in range(SENDS)]


def wait_until(check, what: str):
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_inspectors_day(
    live_server, celery_worker_proc, settings, inspector, reviewer, project, enterprise
):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0  # the record counts at once (acceptance runs)
    task = task_create(
        project=project, assignee=inspector, kind=TaskKind.ROUTINE, due_date=timezone.localdate()
    )
    app = FieldApp(live_server.url)

    # Sign in and download the day's work.
    assert app.sign_in(inspector.user.username, DEFAULT_PASSWORD)["inspector"]["id"] == inspector.id
    feed = app.get("/tasks").json()
    [task_out] = feed["items"]
    assert (task_out["id"], task_out["status"]) == (task.id, "assigned")
    catalogue = {item["code"]: item for item in app.get("/catalogue").json()["items"]}

    # Record the inspection and its findings (each request sent three times).
    now = datetime.now(UTC)
    inspection_uuid = uuid.uuid4()
    inspection_body = {
        "task_id": task.id,
        "project_id": project.id,
        "started_at": (now - timedelta(hours=1)).isoformat(),
        "location": {"lat": project.lat, "lon": project.lon, "accuracy_m": 8.0},
        "note": "例行巡查",
    }
    assert send_thrice(lambda: app.put(f"/inspections/{inspection_uuid}", inspection_body)) == [
        201,
        200,
        200,
    ]
    # Taken on site just now, where the compound is: no evidence flag should go up.
    exif = imagefactory.hohhot_exif(taken=timezone.localtime().strftime("%Y:%m:%d %H:%M:%S"))
    findings: dict[uuid.UUID, list[Photo]] = {}
    seed = 100
    for code, count in zip(CODES, PHOTOS_PER_FINDING, strict=True):
        assert count >= catalogue[code]["min_photos"]
        photos = []
        for _ in range(count):
            seed += 1
            photos.append(Photo(uuid.uuid4(), jpeg(seed, size=(1600, 1200), exif=exif)))
        finding_uuid = uuid.uuid4()
        findings[finding_uuid] = photos
        body = {
            "violation_code": code,
            "description": f"{catalogue[code]['title']}（现场核实）",
            "observed_at": (now - timedelta(minutes=30)).isoformat(),
            "location": {"lat": project.lat, "lon": project.lon, "accuracy_m": 8.0},
            "photos": [photo.declared() for photo in photos],
        }
        path = f"/inspections/{inspection_uuid}/findings/{finding_uuid}"
        assert send_thrice(lambda path=path, body=body: app.put(path, body)) == [201, 200, 200]

    # Upload the six photos; the first is cut half way and resumed from where it stopped.
    all_photos = [photo for photos in findings.values() for photo in photos]
    first = all_photos[0]
    cut = app.uploader(first, chunk_size=len(first.data) // 2)
    cut.upload(stop_at=len(first.data) // 2)
    resumed = app.uploader(first, url=cut.url, chunk_size=64 * 1024)
    assert resumed.offset == len(first.data) // 2
    resumed.upload()
    for photo in all_photos[1:]:
        app.upload(photo, chunk_size=128 * 1024)
    for photo in all_photos:  # replays: each POST answers with the finished upload
        for _ in range(SENDS - 1):
            again = app.uploader(photo, chunk_size=128 * 1024)
            again.set_url(again.create_url())
            assert again.get_offset() == len(photo.data)

    # Submit (three times) and watch the worker process every photo.
    submit_body = {
        "finished_at": now.isoformat(),
        "finding_uuids": [str(u) for u in findings],
    }
    assert (
        send_thrice(lambda: app.post(f"/inspections/{inspection_uuid}/submit", submit_body))
        == [200] * SENDS
    )

    def all_processed():
        body = app.get(f"/inspections/{inspection_uuid}").json()
        states = [p["state"] for f in body["findings"] for p in f["photos"]]
        return body if states == ["processed"] * len(all_photos) else None

    inspection = wait_until(all_processed, "the worker to process six photos")
    assert inspection["status"] == "submitted"
    assert all(p["flags"] == [] for f in inspection["findings"] for p in f["photos"])
    store = get_store()
    for photo in all_photos:
        original = store.read_bytes(f"photos/{photo.photo_uuid}/original", max_bytes=10**7)
        assert original == photo.data
        detail = app.get(f"/photos/{photo.photo_uuid}").json()
        assert requests.get(detail["thumb_url"], timeout=10).status_code == 200
    changes = app.get(f"/tasks?cursor={feed['next_cursor']}").json()["items"]
    assert [(t["id"], t["status"]) for t in changes] == [(task.id, "done")]

    # Review: a reviewer confirms every finding (each decision sent three times).
    bureau = requests.Session()
    token = bureau.post(
        f"{live_server.url}/api/bureau/v1/auth/token",
        json={"username": reviewer.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        timeout=30,
    ).json()["access_token"]
    bureau.headers["Authorization"] = f"Bearer {token}"
    queue = bureau.get(f"{live_server.url}/api/bureau/v1/review/findings", timeout=30).json()
    assert {item["finding_uuid"] for item in queue["items"]} == {str(u) for u in findings}
    for finding_uuid in findings:
        url = f"{live_server.url}/api/bureau/v1/review/findings/{finding_uuid}"
        statuses = [
            bureau.post(
                url, json={"decision": "confirm", "comment": "证据充分"}, timeout=30
            ).status_code
            for _ in range(SENDS)
        ]
        assert statuses == [200] * SENDS

    # The archive: one effective record per finding, and the score recomputed by the worker.
    records = CreditRecord.objects.filter(enterprise=enterprise).order_by("rule_code")
    assert sorted(r.rule_code for r in records) == sorted(CODES)
    assert {r.status for r in records} == {"effective"}
    rulebook = load_default_rulebook()
    expected = rulebook.base_score - sum((rulebook.rule(c).points for c in CODES), Decimal(0))

    def recomputed():
        score = EnterpriseScore.objects.filter(pk=enterprise.id, dirty=False).first()
        return score if score and score.rule_score == expected else None

    score = wait_until(recomputed, "the worker to recompute the score")
    assert score.rule_score == expected
    findings_out = app.get(f"/inspections/{inspection_uuid}").json()["findings"]
    assert {f["review_status"] for f in findings_out} == {"confirmed"}
