"""The worked examples of PRODUCT.md ("The credit model"), end to end through the services."""

from datetime import date

import pytest

from backend.audit import verify_audit_chain
from credit.models import BlacklistEntry, BlacklistStatus, RecordStatus
from credit.recompute.clock import activate_due_records
from credit.services import (
    blacklist_approve,
    blacklist_propose,
    objection_file,
    objection_resolve,
)
from tests.credit.conftest import DECIDED, new_record, publish, rescore

pytestmark = pytest.mark.django_db


def test_a_clean_firm_is_a_with_100(firm, clock):
    score = rescore(firm)

    assert (score.score, score.rule_score, score.model_adjustment) == (100, 100, 0)
    assert score.grade == "A"
    assert [r["code"] for r in score.reasons] == ["base_score"]


def test_one_fee_unlisted_makes_90_a_and_a_second_80_b(firm, reviewer, clock, no_window):
    new_record(firm, "FEE-UNLISTED", reviewer, source_ref="finding-1")
    first = rescore(firm)
    new_record(firm, "FEE-UNLISTED", reviewer, source_ref="finding-2")
    second = rescore(firm)

    assert (first.score, first.grade) == (90, "A")
    assert (second.score, second.grade) == (80, "B")
    assert [r["points"] for r in second.reasons] == ["100.00", "-10.00", "-10.00"]


def test_abandon_proposes_the_blacklist_and_two_people_put_it_on(
    firm, reviewer, second_reviewer, clock, no_window
):
    record = new_record(firm, "ABANDON", reviewer, document_no="呼房罚〔2025〕1号")
    score = rescore(firm)
    proposal = BlacklistEntry.objects.get(enterprise=firm)

    assert (score.score, score.grade, score.blacklist_proposal) == (60, "C", True)
    assert (proposal.status, proposal.proposed_by) == (BlacklistStatus.PROPOSED, None)
    assert list(proposal.basis_records.all()) == [record]

    blacklist_propose(enterprise=firm, reason="合同期内擅自弃管", actor=reviewer)
    entry = blacklist_approve(
        enterprise=firm,
        authority="呼和浩特市住建局",
        document_no="呼房黑〔2025〕1号",
        actor=second_reviewer,
    )
    rescored = rescore(firm)
    snapshot_entry = publish().entries.get(uscc=firm.uscc)

    assert (entry.status, entry.entry_date) == (BlacklistStatus.ACTIVE, DECIDED)
    assert rescored.blacklisted is True
    assert (snapshot_entry.blacklisted, snapshot_entry.blacklist_reason) == (
        True,
        "合同期内擅自弃管",
    )
    assert verify_audit_chain().ok


def test_an_upheld_objection_within_the_window_restores_the_score(
    firm, reviewer, second_reviewer, clock, five_day_window
):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    objection_file(record=record, grounds="收费已在公示栏公示，附照片", actor=reviewer)
    clock.advance(14)  # well past the five working days
    activate_due_records()
    still_pending = rescore(firm)

    objection_resolve(record=record, decision="upheld", reason="经复核属实", actor=second_reviewer)
    record.refresh_from_db()
    restored = rescore(firm)

    assert (still_pending.score, record.status, record.ended_on) == (100, "revoked", clock.today)
    assert restored.score == 100
    assert [r["code"] for r in restored.reasons] == ["base_score"]


def test_a_rejected_objection_lets_the_record_count_from_the_decision(
    firm, reviewer, clock, five_day_window
):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    objection_file(record=record, grounds="不认可", actor=reviewer)
    clock.advance(14)
    objection_resolve(record=record, decision="rejected", reason="理由不成立", actor=reviewer)
    record.refresh_from_db()

    assert (record.status, record.effective_from, record.effective_until) == (
        RecordStatus.EFFECTIVE,
        date(2025, 3, 19),
        date(2026, 3, 19),
    )
    assert rescore(firm).score == 90


def test_without_objection_the_record_counts_after_five_working_days(
    firm, reviewer, clock, five_day_window
):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    clock.advance(7)  # Wednesday → next Wednesday: the fifth working day, still in the window
    activate_due_records()
    in_window = rescore(firm)
    clock.advance(1)
    summary = activate_due_records()
    record.refresh_from_db()

    assert (record.objection_deadline, record.effective_from) == (
        date(2025, 3, 12),
        date(2025, 3, 13),
    )
    assert in_window.score == 100
    assert (summary.activated, record.status, rescore(firm).score) == (1, "effective", 90)


def test_a_record_past_its_months_stops_counting_and_leaves_the_public_page(
    client, firm, reviewer, clock, no_window
):
    new_record(firm, "FEE-NOT-DISCLOSED", reviewer, document_no="呼房责〔2025〕7号")
    rescore(firm)
    publish()
    shown = client.get(f"/credit/e/{firm.uscc}/").content.decode()

    clock.today = date(2025, 6, 5)  # three months later: the exclusive end of the period
    summary = activate_due_records()
    after = rescore(firm)
    publish()
    hidden = client.get(f"/credit/e/{firm.uscc}/").content.decode()

    assert "呼房责〔2025〕7号" in shown
    assert (summary.expired, after.score) == (1, 100)
    assert "呼房责〔2025〕7号" not in hidden
    assert verify_audit_chain().ok
