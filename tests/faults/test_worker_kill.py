"""The Celery worker is SIGKILLed in the middle of photo processing, and in the middle of the
recomputes that follow new credit records; after a restart and the sweepers, the work is done
exactly once: the same rows, the same objects and the same audit entries as a run where nothing
was killed."""

import hashlib
import random

import pytest
from django.db import connection, transaction

from backend.audit import verify_audit_chain
from backend.storage import get_store
from credit.models import Enterprise, EnterpriseScore, RecordSource
from credit.services import record_create, today_local
from inspections.models import Photo, PhotoState, Upload
from tests.factories import region
from tests.faults.control import KillWhen, settle_with_worker
from tests.faults.fingerprint import assert_same_end_state, reset_world, take_fingerprint
from tests.faults.world import (
    REGION_CODE,
    build_world,
    noise_jpeg,
    phone,
    plan_visit,
    record_visit,
    submit_visit,
    uscc,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# Noise JPEGs of about 3 MB: each spans several upload parts, and the worker needs a few
# hundred milliseconds between storing the original and finishing, time to be killed in.
PHOTO_SIZE = (2000, 1500)
UPLOAD_CHUNK = 1024 * 1024


# --- photo processing ------------------------------------------------------------------------


def photo_workload(base_url: str, seed: int) -> list:
    """One inspector records a visit with three large photos, uploads them and submits."""
    world = build_world(inspectors=1)
    app = phone(base_url, world.inspector_tokens[0])
    visit = plan_visit(random.Random(seed), draw_photo=lambda rng: noise_jpeg(rng, size=PHOTO_SIZE))
    assert {a.status_code for a in record_visit(app, visit, project_id=world.project_id)} == {201}
    for photo in visit.photos:
        app.upload(photo, chunk_size=UPLOAD_CHUNK)
    assert submit_visit(app, visit).status_code == 200
    return visit.photos


def photo_mid_processing() -> Photo | None:
    """A photo whose original the worker has stored but which it has not finished."""
    return Photo.objects.filter(state=PhotoState.RECEIVED).exclude(original_key="").first()


def assert_each_photo_done_once(photos) -> None:
    store = get_store()
    for photo in photos:
        row = Photo.objects.get(uuid=photo.photo_uuid)
        assert row.state == PhotoState.PROCESSED
        assert Upload.objects.filter(photo=row).count() == 1
        assert sorted(store.list_keys(f"photos/{photo.photo_uuid}/")) == [
            f"photos/{photo.photo_uuid}/display.jpg",
            f"photos/{photo.photo_uuid}/original",
            f"photos/{photo.photo_uuid}/thumb.jpg",
        ]
        original = store.read_bytes(row.original_key, max_bytes=len(photo.data))
        assert hashlib.sha256(original).hexdigest() == photo.declared()["sha256"]
    assert list(store.list_keys("uploads/")) == []


def test_worker_killed_while_processing_a_photo(live_server, celery_worker_proc):
    # Given the state a run without faults ends in
    reset_world()
    photo_workload(live_server.url, seed=11)
    settle_with_worker()
    baseline = take_fingerprint()

    # When the same workload runs and the worker is killed half way through a photo: after
    # it stored the original, before the derivatives
    reset_world()
    killer = KillWhen(celery_worker_proc, photo_mid_processing)
    killer.start()
    photos = photo_workload(live_server.url, seed=11)
    victim = killer.result()
    victim.refresh_from_db()
    assert (victim.state, victim.display_key) == (PhotoState.RECEIVED, "")

    # Then, restarted and swept, the worker finishes every photo exactly once
    celery_worker_proc.start()
    settle_with_worker()
    assert_each_photo_done_once(photos)
    assert_same_end_state(baseline, take_fingerprint())


# --- recompute -------------------------------------------------------------------------------

# Enough enterprises that the worker needs seconds for their recompute messages, so the kill
# lands among them. Every fourth gets a blacklist violation: its recompute opens a blacklist
# proposal and audits it, a side effect that a repeated or half-done recompute would duplicate
# or lose.
FIRMS = 200
FIRMS_LONG = 1000
# A thousand recomputes take the worker a minute or two on a busy 2-core machine.
LONG_TIMEOUT_S = 300.0
BLACKLIST_EVERY = 4


@transaction.atomic
def dirty_firms_workload(firms: int) -> None:
    """One record for each of `firms` enterprises, in one transaction: its commit queues as
    many recompute messages at once."""
    home = region(REGION_CODE, name="呼和浩特市")
    created = Enterprise.objects.bulk_create(
        Enterprise(uscc=uscc(n), name=f"受检物业公司{n:04d}", region=home)
        for n in range(1, firms + 1)
    )
    for n, firm in enumerate(created, start=1):
        record_create(
            enterprise=firm,
            rule_code="ABANDON" if n % BLACKLIST_EVERY == 0 else "SANITATION",
            decided_at=today_local(),
            source=RecordSource.INSPECTION,
            source_ref=f"fault-recompute-{n}",
            actor=None,
        )


def worker_holds_a_score_lock() -> bool:
    """A worker transaction is inside recompute_enterprise: it holds a score row FOR UPDATE."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = %s AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()",
            [EnterpriseScore._meta.db_table],
        )
        return cursor.fetchone()[0] > 0


def recomputing_with_done_between(low: int, high: int):
    """The moment: between `low` and `high` enterprises are scored, and the worker is inside
    the transaction of another."""

    def moment() -> bool:
        done = EnterpriseScore.objects.filter(dirty=False).count()
        return low <= done < high and worker_holds_a_score_lock()

    return moment


def test_worker_killed_during_recomputes(celery_worker_proc, settings):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0  # records count at once, so scores move
    # Given the state a run without faults ends in
    reset_world()
    dirty_firms_workload(FIRMS)
    settle_with_worker()
    baseline = take_fingerprint()

    # When the worker is killed a part of the way through the recompute messages, inside one
    # enterprise's recompute transaction (recompute messages are acknowledged on receipt, so
    # the one it was running is lost with it)
    reset_world()
    killer = KillWhen(celery_worker_proc, recomputing_with_done_between(FIRMS // 10, FIRMS // 2))
    killer.start()
    dirty_firms_workload(FIRMS)
    killer.result()
    assert 0 < EnterpriseScore.objects.filter(dirty=True).count() < FIRMS

    # Then, restarted and swept, every enterprise is scored once, with one blacklist proposal
    # and one audit entry per blacklist violation
    celery_worker_proc.start()
    settle_with_worker()
    assert EnterpriseScore.objects.filter(dirty=False).count() == FIRMS
    assert verify_audit_chain().ok
    assert_same_end_state(baseline, take_fingerprint())


@pytest.mark.faults_long
@pytest.mark.timeout(900)  # a thousand recomputes, three kills and restarts, then the sweep
def test_worker_killed_again_and_again_during_recomputes(celery_worker_proc, settings):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0
    # Given the state a run without faults ends in
    reset_world()
    dirty_firms_workload(FIRMS_LONG)
    settle_with_worker(timeout_s=LONG_TIMEOUT_S)
    baseline = take_fingerprint()

    # When the worker is killed three times on its way through the recomputes, restarted
    # after each kill
    reset_world()
    dirty_firms_workload(FIRMS_LONG)
    for low, high in ((0.1, 0.3), (0.4, 0.6), (0.7, 0.9)):
        moment = recomputing_with_done_between(int(FIRMS_LONG * low), int(FIRMS_LONG * high))
        killer = KillWhen(celery_worker_proc, moment, timeout_s=LONG_TIMEOUT_S)
        killer.start()
        killer.result()
        celery_worker_proc.start()

    # Then the sweepers finish the work, and it was done exactly once
    settle_with_worker(timeout_s=LONG_TIMEOUT_S)
    assert verify_audit_chain().ok
    assert_same_end_state(baseline, take_fingerprint())
