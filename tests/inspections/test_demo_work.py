"""seed_demo's last steps leave work waiting on every desk: findings to review with processed
photos in the western reviewer's regions, a blacklist proposal for a second approver, an
objection in its window; and the seed's log stays quiet so that the accounts stand out."""

import logging
import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from backend.storage import get_store
from credit.models import BlacklistEntry, CreditRecord, Objection, StaffProfile
from inspections import demo_data, demo_work
from inspections.management.commands.seed_demo import QUIET_LOGGERS
from inspections.models import Finding, Inspection, Photo

REGISTRY_STEPS = 4
WORK_STEPS = 3


@pytest.fixture(autouse=True)
def registry_and_work_steps_only(monkeypatch):
    """The registry and the waiting work; the history, model and plan steps between them have
    their own test (tests/inspections/risk/test_demo_history.py) and take a minute."""
    steps = demo_data.STEPS[:REGISTRY_STEPS] + demo_data.STEPS[-WORK_STEPS:]
    assert [step.run for step in steps[-WORK_STEPS:]] == [
        demo_work.seed_review_work,
        demo_work.seed_blacklist_proposal,
        demo_work.seed_objection_case,
    ]
    monkeypatch.setattr(demo_data, "STEPS", steps)


@pytest.fixture
def records_count_at_once():
    """As under `make run`: the objection step must still leave a record in its window."""
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=0):
        yield


def seed(**kwargs) -> demo_data.DemoContext:
    options = {"enterprises": 15, "years": 2, "seed": 7, "today": timezone.localdate()} | kwargs
    return demo_data.seed_demo(**options)


def bureau_page(username: str, url: str) -> str:
    client = Client()
    client.force_login(StaffProfile.objects.get(user__username=username).user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_findings_wait_for_review_with_processed_photos_in_the_western_region(
    records_count_at_once,
):
    ctx = seed()

    pending = Finding.objects.filter(review_status="pending", inspection__status="submitted")
    assert ctx.counts["findings_to_review_written"] == pending.count() >= 3
    assert {f.inspection.project.region_id[:4] for f in pending} <= {"1501", "1502"}
    photos = Photo.objects.filter(finding__in=pending)
    assert photos.count() >= 4 and set(photos.values_list("state", flat=True)) == {"processed"}
    store = get_store()
    for photo in photos:
        assert store.stat(photo.display_key) is not None and store.stat(photo.thumb_key) is not None
    flagged = [p.flags for p in photos if p.flags]
    assert flagged == [["no_exif"]]  # one phone stripped EXIF; the rest are clean
    html = bureau_page("reviewer_west", "/bureau/review/")
    assert html.count('class="card finding"') == pending.count()
    assert html.count("<img ") == photos.count()


@pytest.mark.django_db
def test_a_blacklist_proposal_waits_for_a_second_approver(records_count_at_once):
    seed()

    [proposal] = BlacklistEntry.objects.filter(status="proposed")
    assert proposal.proposed_by.username == "reviewer_west"
    assert proposal.enterprise.region_id[:4] in ("1501", "1502")
    assert [r.rule_code for r in proposal.basis_records.all()] == ["MAINT-FUND-MISUSE"]
    html = bureau_page("admin", "/bureau/credit/blacklist/")
    assert proposal.enterprise.name in html and "批准列入黑名单" in html


@pytest.mark.django_db
def test_an_objection_is_in_its_window_even_when_records_count_at_once(records_count_at_once):
    today = timezone.localdate()

    seed()

    [objection] = Objection.objects.all()
    record = objection.record
    assert (record.status, objection.decision) == ("pending", "")
    assert record.objection_deadline > today
    in_window = CreditRecord.objects.filter(
        status="pending", objection_deadline__gte=today, objection__isnull=True
    )
    assert in_window.count() == 1
    html = bureau_page("reviewer_west", "/bureau/credit/objections/")
    assert objection.grounds in html and in_window.get().title_zh in html


@pytest.mark.django_db
def test_the_western_reviewers_workbench_shows_the_waiting_work(records_count_at_once):
    seed()

    html = bureau_page("reviewer_west", "/bureau/")

    counts = dict(re.findall(r'<a href="([^"]+)"><span class="count">(\d+)</span>', html))
    assert int(counts["/bureau/review/"]) >= 3
    assert counts["/bureau/credit/blacklist/"] == "1"
    assert counts["/bureau/credit/objections/"] == "1"


@pytest.mark.django_db
def test_running_again_adds_no_second_case():
    seed()
    before = (
        Inspection.objects.count(),
        Photo.objects.count(),
        CreditRecord.objects.count(),
        BlacklistEntry.objects.count(),
        Objection.objects.count(),
    )

    again = seed()

    assert (
        Inspection.objects.count(),
        Photo.objects.count(),
        CreditRecord.objects.count(),
        BlacklistEntry.objects.count(),
        Objection.objects.count(),
    ) == before
    assert [
        again.counts[key]
        for key in (
            "findings_to_review_written",
            "blacklist_proposals_written",
            "objections_written",
        )
    ] == [0, 0, 0]


@pytest.mark.django_db(transaction=True)
def test_the_seed_logs_no_task_lines_broker_warning_or_snapshot_lines(caplog, capsys):
    """Committed for real, so that queued tasks run (eagerly in embedded mode) while seeding."""
    caplog.set_level(logging.INFO)
    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}

    call_command("seed_demo", "--enterprises", "12", "--years", "1", "--seed", "3")

    noisy = [r for r in caplog.records if r.name in QUIET_LOGGERS and r.levelno < logging.ERROR]
    assert noisy == []
    assert {name: logging.getLogger(name).level for name in QUIET_LOGGERS} == levels
    out = capsys.readouterr().out
    assert "[7/7] 异议期内的异议 objection in its window" in out
    assert "reviewer_west" in out
