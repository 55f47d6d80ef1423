"""Credit tasks: primitive ids in, one service, safe to run twice."""

import pytest

from credit.models import EnterpriseScore, RecordStatus, Snapshot
from credit.tasks import (
    activate_due_records_task,
    publish_snapshot_task,
    recompute_dirty_task,
    recompute_enterprise_task,
)
from tests.credit.conftest import new_record

pytestmark = pytest.mark.django_db


def test_recompute_enterprise_twice_gives_the_same_row(firm, reviewer, clock, no_window):
    new_record(firm, "FEE-UNLISTED", reviewer)

    recompute_enterprise_task(firm.id)
    first = EnterpriseScore.objects.values().get(pk=firm.pk)
    recompute_enterprise_task(firm.id)
    second = EnterpriseScore.objects.values().get(pk=firm.pk)

    assert first["score"] == second["score"] == 90
    assert {k: v for k, v in first.items() if k != "computed_at"} == {
        k: v for k, v in second.items() if k != "computed_at"
    }


def test_recompute_of_a_missing_enterprise_is_logged_not_raised(caplog):
    recompute_enterprise_task(999_999)

    assert "no longer exists" in caplog.text


def test_activation_twice_changes_records_once(firm, reviewer, clock, five_day_window):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    clock.advance(10)

    activate_due_records_task()
    activate_due_records_task()

    record.refresh_from_db()
    assert record.status == RecordStatus.EFFECTIVE


def test_sweeper_and_publication_tasks(firm):
    assert recompute_dirty_task() == 1
    assert recompute_dirty_task() == 0

    publish_snapshot_task()

    assert Snapshot.objects.get().enterprises == 1


def test_a_broker_outage_after_commit_leaves_the_flag_for_the_sweeper(
    firm, reviewer, clock, no_window, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(recompute_enterprise_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        new_record(firm, "FEE-UNLISTED", reviewer)

    assert EnterpriseScore.objects.get(pk=firm.pk).dirty is True
    assert recompute_dirty_task() == 1
    assert EnterpriseScore.objects.get(pk=firm.pk).score == 90


def test_sweeper_takes_the_bulk_path_for_a_flood_and_batches_otherwise(monkeypatch):
    from credit.models import EnterpriseScore
    from credit.recompute import full, sweep
    from tests.factories import EnterpriseFactory

    EnterpriseFactory.create_batch(6)
    full.recompute_all()
    EnterpriseScore.objects.update(dirty=True)

    # A flood (more flags than the threshold): one vectorised pass clears every flag.
    monkeypatch.setattr(sweep, "BULK_RECOMPUTE_THRESHOLD", 3)
    flood = sweep.recompute_pending()
    assert flood.more_waiting is False
    assert EnterpriseScore.objects.filter(dirty=True).count() == 0

    # A trickle: batches of DIRTY_BATCH, and a full batch asks to be run again.
    EnterpriseScore.objects.update(dirty=True)
    monkeypatch.setattr(sweep, "BULK_RECOMPUTE_THRESHOLD", 100)
    monkeypatch.setattr(sweep, "DIRTY_BATCH", 4)
    first = sweep.recompute_pending()
    assert (first.recomputed, first.more_waiting) == (4, True)
    second = sweep.recompute_pending()
    assert (second.recomputed, second.more_waiting) == (2, False)
    assert EnterpriseScore.objects.filter(dirty=True).count() == 0
