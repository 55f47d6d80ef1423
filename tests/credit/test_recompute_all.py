"""The bulk full recompute stores exactly what the per-firm recompute stores, firm for firm."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test import override_settings

from backend.audit import verify_audit_chain
from backend.models import AuditEntry
from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseScore,
    RecordStatus,
)
from credit.recompute import bulk_read, full
from credit.recompute.firm import recompute_enterprise
from credit.recompute.full import FULL_RECOMPUTE_ACTION, recompute_all
from credit.selectors import active_rulebook
from credit.services import blacklist_approve, blacklist_propose, risk_update
from tests.credit.conftest import DECIDED, new_record, rescore
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

# Everything recompute_enterprise stores except the wall-clock time of the computation.
SCORE_FIELDS = [f.name for f in EnterpriseScore._meta.concrete_fields if f.name != "computed_at"]


class _RollBack(Exception):
    """Raised to undo one run so the other starts from the same database."""


def outcome_of(run) -> dict:
    """The stored state a run leaves behind, then the run is rolled back."""
    outcome = {}
    try:
        with transaction.atomic():
            first_new_audit = AuditEntry.objects.count() + 1
            run()
            outcome.update(stored_state(first_new_audit))
            raise _RollBack
    except _RollBack:
        pass
    return outcome


def stored_state(first_new_audit: int = 1) -> dict:
    entries = BlacklistEntry.objects.prefetch_related("basis_records")
    owner = {str(e.id): e.enterprise_id for e in entries}
    return {
        "scores": {row["enterprise"]: row for row in EnterpriseScore.objects.values(*SCORE_FIELDS)},
        "blacklist": sorted(
            (
                e.enterprise_id,
                e.status,
                e.entry_reason,
                e.exit_reason,
                e.exit_date,
                e.proposed_by_id,
                sorted(r.id for r in e.basis_records.all()),
            )
            for e in entries
        ),
        # Entry ids differ between runs (sequences do not roll back): the firm stands in.
        "audit": sorted(
            (a.actor, a.action, a.object_type, owner.get(a.object_id), sorted(a.payload.items()))
            for a in AuditEntry.objects.filter(seq__gte=first_new_audit)
        ),
    }


def recompute_one_by_one() -> None:
    for enterprise_id in Enterprise.objects.order_by("id").values_list("id", flat=True):
        recompute_enterprise(enterprise_id=enterprise_id)


@pytest.fixture
def varied_firms(reviewer, second_reviewer, clock, no_window) -> dict[str, Enterprise]:
    """One firm per case the score, its reasons and the blacklist rules distinguish."""
    firms = {name: EnterpriseFactory() for name in CASES}
    new_record(firms["one_bad"], "FEE-UNLISTED", reviewer)
    new_record(firms["expired"], "FEE-UNLISTED", reviewer, decided_at=date(2023, 1, 4))
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=5):
        new_record(firms["pending"], "ADMIN-PENALTY", reviewer)
    for case, status in (("revoked", RecordStatus.REVOKED), ("repaired", RecordStatus.REPAIRED)):
        record = new_record(firms[case], "ELEVATOR-OPS", reviewer)
        new_record(firms[case], "SANITATION", reviewer)
        CreditRecord.objects.filter(pk=record.pk).update(status=status, ended_on=clock.today)
    for code in ("DEMO-NATIONAL", "DEMO-REGION", "TRADEMARK-NATIONAL", "TRADEMARK-REGION"):
        new_record(firms["bonus_capped"], code, reviewer, source="award")
    new_record(firms["bonus_capped"], "SNOW-ICE", reviewer)
    new_record(firms["blacklist_new"], "ABANDON", reviewer)
    new_record(firms["blacklist_new"], "UNREGISTERED", reviewer, decided_at=date(2025, 3, 3))
    new_record(firms["blacklist_active"], "TENDER-FRAUD", reviewer)
    rescore(firms["blacklist_active"])
    blacklist_propose(enterprise=firms["blacklist_active"], reason="串通投标", actor=reviewer)
    blacklist_approve(
        enterprise=firms["blacklist_active"], authority="局", document_no="1", actor=second_reviewer
    )
    basis = new_record(firms["blacklist_withdrawn"], "SAFETY-ACCIDENT", reviewer)
    rescore(firms["blacklist_withdrawn"])  # opens the system proposal ...
    CreditRecord.objects.filter(pk=basis.pk).update(  # ... whose basis is then revoked
        status=RecordStatus.REVOKED, ended_on=clock.today
    )
    retired = new_record(firms["retired_rule"], "PARKING-LEASE", reviewer)
    CreditRecord.objects.filter(pk=retired.pk).update(rule_code="RETIRED-2014")
    for case, mean in (("risk_low", 0.1), ("risk_high", 0.1), ("risk_old_mean", 0.3)):
        probability = 0.02 if case == "risk_low" else 0.45
        risk_update(
            enterprise=firms[case],
            probability=probability,
            population_mean=mean,
            model_version="risk-2025.03",
            reasons=["近一年投诉较多", "设施老旧", "人员流动大", "第四条不显示"],
        )
    new_record(firms["risk_high"], "ABANDON", reviewer)
    new_record(firms["scored_before"], "SANITATION", reviewer)
    rescore(firms["scored_before"])
    return firms


CASES = (
    "clean",
    "one_bad",
    "expired",
    "pending",
    "revoked",
    "repaired",
    "bonus_capped",
    "blacklist_new",
    "blacklist_active",
    "blacklist_withdrawn",
    "retired_rule",
    "risk_low",
    "risk_high",
    "risk_old_mean",
    "scored_before",
)


def test_the_bulk_path_stores_what_the_per_firm_path_stores(varied_firms):
    bulk = outcome_of(recompute_all)
    one_by_one = outcome_of(recompute_one_by_one)

    assert bulk["scores"].keys() == {f.pk for f in varied_firms.values()}
    for firm in varied_firms.values():
        assert bulk["scores"][firm.pk] == one_by_one["scores"][firm.pk]
    assert bulk["blacklist"] == one_by_one["blacklist"]
    assert without_run_entries(bulk["audit"]) == one_by_one["audit"]


def without_run_entries(audit: list) -> list:
    return [entry for entry in audit if entry[1] != FULL_RECOMPUTE_ACTION]


def run_entry(*, as_of: date, enterprises: int, stale: int) -> tuple:
    """The audit entry of one full recompute, as stored_state lists it."""
    payload = {
        "as_of": as_of.isoformat(),
        "enterprises": enterprises,
        "stale": stale,
        "rulebook_version": active_rulebook().version,
    }
    return ("system", FULL_RECOMPUTE_ACTION, "enterprise_score", None, sorted(payload.items()))


def test_a_rulebook_change_rewrites_every_row_as_the_per_firm_path_would(varied_firms):
    recompute_all()
    EnterpriseScore.objects.update(rulebook_version="older")  # every row exists and is stale

    bulk = outcome_of(recompute_all)
    one_by_one = outcome_of(recompute_one_by_one)

    for firm in varied_firms.values():
        assert bulk["scores"][firm.pk] == one_by_one["scores"][firm.pk]
    assert bulk["blacklist"] == one_by_one["blacklist"]
    assert without_run_entries(bulk["audit"]) == one_by_one["audit"]


def test_the_cases_reach_the_branches_they_are_named_after(varied_firms):
    summary = recompute_all()

    scores = {s.enterprise_id: s for s in EnterpriseScore.objects.all()}
    by_case = {case: scores[firm.pk] for case, firm in varied_firms.items()}
    entries = {e.enterprise_id: e.status for e in BlacklistEntry.objects.all()}
    # "scored_before" was recomputed after its last change: only its scoring day moves.
    assert (summary.enterprises, summary.refreshed) == (len(CASES), len(CASES) - 1)
    assert by_case["scored_before"].as_of == date(2025, 3, 5)
    assert [r["code"] for r in by_case["bonus_capped"].reasons].count("bonus_cap") == 1
    assert by_case["bonus_capped"].tender_benefit_codes == [
        "TRADEMARK-NATIONAL",
        "TRADEMARK-REGION",
    ]
    assert by_case["retired_rule"].reasons[1]["text_zh"] == "RETIRED-2014（RETIRED-2014）"
    assert [r["code"] for r in by_case["risk_high"].reasons][-3:-1] == [
        "model_reason",
        "model_reason",
    ]
    assert [r["code"] for r in by_case["clean"].reasons] == ["base_score"]
    assert by_case["blacklist_active"].blacklisted is True
    assert entries[varied_firms["blacklist_new"].pk] == BlacklistStatus.PROPOSED
    assert entries[varied_firms["blacklist_withdrawn"].pk] == BlacklistStatus.WITHDRAWN
    assert (
        stored_state()["audit"].count(
            run_entry(as_of=DECIDED, enterprises=len(CASES), stale=len(CASES) - 1)
        )
        == 1
    )
    assert verify_audit_chain().ok


def test_a_second_run_changes_nothing_but_records_itself(varied_firms):
    recompute_all()
    before = stored_state()

    second = recompute_all()

    after = stored_state()
    assert second.refreshed == 0
    assert (after["scores"], after["blacklist"]) == (before["scores"], before["blacklist"])
    assert after["audit"] == sorted(
        [*before["audit"], run_entry(as_of=DECIDED, enterprises=len(CASES), stale=0)]
    )


def row_version(enterprise_id: int) -> str:
    """The physical place of the row's current version: any UPDATE moves it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ctid::text FROM credit_enterprisescore WHERE enterprise_id = %s",
            [enterprise_id],
        )
        return cursor.fetchone()[0]


def test_a_later_nightly_run_writes_no_unchanged_row_and_records_the_day(
    firm, reviewer, clock, no_window
):
    new_record(firm, "FEE-UNLISTED", reviewer)
    recompute_all()
    stored, version = EnterpriseScore.objects.values().get(pk=firm.pk), row_version(firm.pk)

    next_day = clock.advance(1)
    summary = recompute_all()

    assert summary.refreshed == 0
    assert EnterpriseScore.objects.values().get(pk=firm.pk) == stored
    assert stored["as_of"] == DECIDED
    assert row_version(firm.pk) == version
    last = AuditEntry.objects.order_by("-seq").first()
    assert (last.action, last.payload["as_of"]) == (FULL_RECOMPUTE_ACTION, next_day.isoformat())


def test_a_failure_part_way_leaves_no_partial_write(varied_firms, monkeypatch):
    before = stored_state()

    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    # The last step of the write transaction: every row and proposal is written by then.
    monkeypatch.setattr(full, "record_run", fail)
    with pytest.raises(RuntimeError):
        recompute_all()

    assert stored_state() == before


def test_a_row_flagged_after_the_read_is_left_to_the_per_firm_path(
    firm, reviewer, clock, no_window
):
    rescore(firm)
    original = bulk_read.open_blacklist_entries

    def record_arrives_after_the_records_were_read(cursor, enterprise_ids):
        new_record(firm, "FEE-UNLISTED", reviewer)  # flags the score row in its transaction
        return original(cursor, enterprise_ids)

    EnterpriseScore.objects.filter(pk=firm.pk).update(rulebook_version="older")  # make it stale
    bulk_read.open_blacklist_entries = record_arrives_after_the_records_were_read
    try:
        summary = recompute_all()
    finally:
        bulk_read.open_blacklist_entries = original

    score = EnterpriseScore.objects.get(pk=firm.pk)
    assert summary.refreshed == 1
    assert (score.score, score.dirty) == (90, False)


def test_a_score_row_created_after_the_read_is_left_to_the_per_firm_path(
    firm, reviewer, clock, no_window, monkeypatch
):
    never_scored = EnterpriseFactory()
    new_record(never_scored, "SANITATION", reviewer)
    EnterpriseScore.objects.all().delete()  # neither firm has a score row when the run reads
    original = bulk_read.open_blacklist_entries

    def record_arrives_after_the_records_were_read(cursor, enterprise_ids):
        new_record(firm, "FEE-UNLISTED", reviewer)  # the flagger creates firm's score row
        return original(cursor, enterprise_ids)

    monkeypatch.setattr(
        bulk_read, "open_blacklist_entries", record_arrives_after_the_records_were_read
    )
    summary = recompute_all()

    scores = {s.enterprise_id: s for s in EnterpriseScore.objects.all()}
    assert summary.refreshed == 2
    assert (scores[firm.pk].score, scores[firm.pk].dirty) == (90, False)
    assert (scores[never_scored.pk].score, scores[never_scored.pk].dirty) == (98, False)


def test_firms_whose_model_lines_read_alike_share_them_exactly(reviewer, clock, no_window):
    # Weight 20 against a mean of 10 %: 12.310 % and 12.312 % print alike and both adjust by
    # -0.46; 12.449 % and 12.451 % both adjust by -0.49 but print as 12.4 % and 12.5 %. The
    # last two firms differ in the serious record that holds the model's lift back.
    probabilities = (0.12310, 0.12312, 0.12449, 0.12451, 0.05, 0.05)
    firms = [EnterpriseFactory() for _ in probabilities]
    for firm, probability in zip(firms, probabilities, strict=True):
        risk_update(
            enterprise=firm,
            probability=probability,
            population_mean=0.1,
            model_version="risk-2025.03",
            reasons=["近一年投诉较多"],
        )
    new_record(firms[4], "ABANDON", reviewer)

    bulk = outcome_of(recompute_all)
    one_by_one = outcome_of(recompute_one_by_one)

    assert len({str(bulk["scores"][f.pk]["reasons"]) for f in firms}) == len(firms) - 1
    for firm in firms:
        assert bulk["scores"][firm.pk] == one_by_one["scores"][firm.pk]


def test_a_model_that_is_not_live_gives_the_same_zero_part_and_reason_both_ways(
    reviewer, clock, no_window
):
    # Estimates of a model that failed the promotion gate (stored with live=False) beside
    # live ones, one of them against another population mean (the per-firm branch of the bulk
    # path), and a firm with a serious record.
    verdict = ["风险模型未显著优于按近一年确认违规数排序"]
    cases = [(0.30, 0.1, False), (0.01, 0.1, False), (0.30, 0.1, True), (0.02, 0.2, False)]
    firms = [EnterpriseFactory() for _ in cases]
    for firm, (probability, mean, live) in zip(firms, cases, strict=True):
        risk_update(
            enterprise=firm,
            probability=probability,
            population_mean=mean,
            model_version="risk-gated",
            reasons=verdict if not live else ["近一年投诉较多"],
            live=live,
        )
    new_record(firms[1], "ABANDON", reviewer)

    bulk = outcome_of(recompute_all)
    one_by_one = outcome_of(recompute_one_by_one)

    for firm, (_, _, live) in zip(firms, cases, strict=True):
        assert bulk["scores"][firm.pk] == one_by_one["scores"][firm.pk]
        stored = bulk["scores"][firm.pk]
        model_lines = [r for r in stored["reasons"] if r["code"].startswith("model")]
        if live:
            assert stored["model_adjustment"] != 0
        else:
            assert stored["model_adjustment"] == 0
            assert [r["code"] for r in model_lines] == ["model_not_live"]
            assert verdict[0] in model_lines[0]["text_zh"]
