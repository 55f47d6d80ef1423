"""Snapshots (immutable, hashed, consistent), the recompute paths and the status clock."""

import hashlib
import json
import random
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from backend.audit import verify_audit_chain
from backend.models import AuditEntry
from credit.demo import credit_history_seed
from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    EnterpriseScore,
    ImmutableRowError,
    RulebookVersion,
    Snapshot,
)
from credit.publication import snapshot_content_chunks
from credit.recompute.firm import recompute_enterprise
from credit.recompute.full import recompute_all
from credit.recompute.sweep import recompute_dirty
from credit.rulebook import default_rulebook_data
from credit.selectors import active_rulebook, backbone_candidates
from credit.services import (
    enterprise_scale_update,
    record_create,
    risk_update,
    rulebook_version_create,
)
from tests.credit.conftest import new_record, publish, rescore
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db


def test_record_create_is_idempotent_on_its_source_reference(firm, reviewer, clock):
    first = new_record(firm, "FEE-UNLISTED", reviewer, source_ref="f-1")
    again = new_record(firm, "SANITATION", reviewer, source_ref="f-1")

    assert again.pk == first.pk and again.rule_code == "FEE-UNLISTED"
    assert AuditEntry.objects.filter(action="credit.record_created").count() == 1


def test_record_create_marks_the_enterprise_dirty(firm, reviewer, clock):
    rescore(firm)

    new_record(firm, "FEE-UNLISTED", reviewer)

    assert EnterpriseScore.objects.get(pk=firm.pk).dirty is True


def test_record_create_queues_the_recompute_on_commit(
    firm, reviewer, clock, no_window, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        new_record(firm, "FEE-UNLISTED", reviewer)

    score = EnterpriseScore.objects.get(pk=firm.pk)
    assert len(callbacks) == 1
    assert (score.dirty, score.score) == (False, 90)


def test_the_sweeper_recomputes_dirty_and_never_scored_firms(firm, reviewer, clock, no_window):
    never_scored = EnterpriseFactory()
    new_record(firm, "FEE-UNLISTED", reviewer)

    done = recompute_dirty()

    scores = dict(EnterpriseScore.objects.values_list("enterprise_id", "score"))
    assert done == 2
    assert scores == {firm.pk: 90, never_scored.pk: 100}
    assert recompute_dirty() == 0


def test_risk_is_blended_within_its_cap(firm, clock):
    risk_update(
        enterprise=firm,
        probability=0.01,
        population_mean=0.2,
        model_version="risk-2025.03",
        reasons=["近一年无投诉"],
    )

    score = rescore(firm)

    # 20 · (0.2 − 0.01) = 3.8 points, inside the ±5 cap
    assert (score.rule_score, score.model_adjustment, score.score, score.grade) == (
        Decimal("100.00"),
        Decimal("3.80"),
        Decimal("103.80"),
        "AA",
    )
    assert score.model_version == "risk-2025.03"


def test_vectorised_recompute_agrees_with_the_per_enterprise_one(reviewer, clock, no_window):
    firms = [EnterpriseFactory() for _ in range(6)]
    rules = ["FEE-UNLISTED", "ABANDON", "DEMO-NATIONAL", "SANITATION", "TRADEMARK-REGION"]
    rng = random.Random(7)
    for firm in firms:
        for _ in range(rng.randrange(4)):
            code = rng.choice(rules)
            source = "award" if code.startswith(("DEMO", "TRADEMARK")) else "inspection"
            new_record(firm, code, reviewer, source=source)
    risk_update(
        enterprise=firms[0], probability=0.5, population_mean=0.1, model_version="m1", reasons=[]
    )
    summary = recompute_all()
    bulk = dict(EnterpriseScore.objects.values_list("enterprise_id", "score"))

    singles = {f.pk: recompute_enterprise(enterprise_id=f.pk).score for f in firms}
    second = recompute_all()

    assert bulk == singles
    assert (summary.enterprises, summary.refreshed) == (6, 6)
    assert second.refreshed == 0  # nothing changed since


def test_snapshots_are_immutable_and_old_ones_stay_readable(
    client, firm, reviewer, clock, no_window
):
    old = publish()
    new_record(firm, "FEE-UNLISTED", reviewer)
    new = publish()

    with pytest.raises(ImmutableRowError):
        old.save()
    with pytest.raises(ImmutableRowError):
        old.entries.get().delete()
    assert old.entries.get().score == 100 and new.entries.get().score == 90
    assert Snapshot.objects.count() == 2


def test_the_hash_covers_the_canonical_content_and_repeats_for_equal_content(firm):
    first, second = publish(), publish()

    content = "".join(snapshot_content_chunks(first)).encode()

    assert hashlib.sha256(content).hexdigest() == first.sha256 == second.sha256
    assert json.loads(content)["rulebook_version"] == first.rulebook_version


def test_blacklist_exit_when_the_serious_record_expires(
    firm, reviewer, second_reviewer, clock, no_window
):
    from credit.recompute.clock import activate_due_records
    from credit.services import blacklist_approve, blacklist_propose

    new_record(firm, "UNREGISTERED", reviewer)  # serious, 24 months
    rescore(firm)
    blacklist_propose(enterprise=firm, reason="无资质", actor=reviewer)
    blacklist_approve(enterprise=firm, authority="局", document_no="1", actor=second_reviewer)
    clock.today = date(2027, 3, 5)
    activate_due_records()
    score = rescore(firm)

    entry = BlacklistEntry.objects.get()
    assert (entry.status, entry.exit_date, score.blacklisted) == (
        BlacklistStatus.EXITED,
        date(2027, 3, 5),
        False,
    )
    assert entry.exit_reason and entry.exit_authority
    assert verify_audit_chain().ok


def test_backbone_candidates_by_scale_grade_and_record(firm, reviewer, clock, no_window):
    small = EnterpriseFactory()
    enterprise_scale_update(enterprise=firm, managed_area_m2=800_000, managed_projects=12)
    enterprise_scale_update(enterprise=small, managed_area_m2=20_000, managed_projects=1)
    rescore(firm)
    rescore(small)

    assert [c.enterprise for c in backbone_candidates()] == [firm]

    new_record(firm, "TENDER-FRAUD", reviewer)
    rescore(firm)
    assert backbone_candidates() == []


def test_a_new_rulebook_version_is_stored_activated_and_audited(reviewer):
    content = default_rulebook_data()
    content["version"] = "2026-bureau-2"
    content["violations"][0]["points"] = 12  # FEE-UNLISTED

    version = rulebook_version_create(content=content, actor=reviewer)

    assert RulebookVersion.objects.filter(is_active=True).get() == version
    assert active_rulebook().version == "2026-bureau-2"
    assert active_rulebook().rulebook.rule("FEE-UNLISTED").points == 12
    assert AuditEntry.objects.filter(action="credit.rulebook_version_stored").count() == 1


def test_the_objection_window_of_new_records_is_the_active_rulebooks(firm, reviewer, clock):
    content = default_rulebook_data()
    content["version"] = "2026-bureau-window-2"
    content["objection_window_working_days"] = 2
    rulebook_version_create(content=content, actor=reviewer)

    record = record_create(
        enterprise=firm,
        rule_code="FEE-UNLISTED",
        decided_at=date(2025, 2, 28),  # a Friday
        source="inspection",
        actor=reviewer,
    )

    assert record.objection_deadline == date(2025, 3, 4)  # Monday, Tuesday
    assert record.effective_from == date(2025, 3, 5)


def test_the_objection_window_setting_overrides_the_rulebook(firm, reviewer, clock, settings):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0

    record = new_record(firm, "FEE-UNLISTED", reviewer, decided_at=date(2025, 2, 28))

    assert record.objection_deadline is None and record.effective_from == date(2025, 2, 28)


def test_records_keep_the_numbers_of_the_version_they_were_made_under(firm, reviewer, clock):
    before = new_record(firm, "FEE-UNLISTED", reviewer)
    content = default_rulebook_data()
    content["version"] = "2026-bureau-3"
    content["violations"][0]["points"] = 12
    rulebook_version_create(content=content, actor=reviewer)

    after = record_create(
        enterprise=firm,
        rule_code="FEE-UNLISTED",
        decided_at=clock.today,
        source="inspection",
        actor=reviewer,
    )

    assert (before.points, before.rulebook_version) == (10, "2015-default-1")
    assert (after.points, after.rulebook_version) == (12, "2026-bureau-3")


def test_commands_recompute_publish_and_create_a_tender_client(firm, capsys):
    call_command("recompute_scores")
    call_command("recompute_scores", "--all")
    call_command("publish_snapshot")
    call_command("create_tender_client", "交易平台")

    lines = capsys.readouterr().out.strip().splitlines()
    published, credentials = json.loads(lines[-2]), json.loads(lines[-1])
    assert published["enterprises"] == 1 and len(published["sha256"]) == 64
    assert set(credentials) == {"client_id", "secret"} and len(credentials["secret"]) == 64


def test_load_rulebook_command_is_idempotent_for_the_same_file(capsys):
    call_command("load_rulebook")
    call_command("load_rulebook")

    assert RulebookVersion.objects.count() == 1
    assert "2015-default-1" in capsys.readouterr().out


def test_demo_history_spans_the_years_with_monthly_snapshots(reviewer, second_reviewer, clock):
    firms = [EnterpriseFactory() for _ in range(8)]

    summary = credit_history_seed(
        enterprises=firms,
        rng=random.Random(3),
        years=1,
        today=clock.today,
        reviewer=reviewer,
        approver=second_reviewer,
    )

    assert summary.records == CreditRecord.objects.count() > 0
    assert summary.snapshots == Snapshot.objects.count() == 13  # 12 month-ends + today
    assert Snapshot.objects.order_by("-as_of").first().as_of == clock.today
    assert verify_audit_chain().ok
