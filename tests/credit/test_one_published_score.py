"""One source of truth for a published score (issue 13): for every firm of a random world, the
stored `EnterpriseScore`, its snapshot entry, the public page and the tender answer say the same
score, parts and grade; and a snapshot made while every stored row is behind (each firm scored
in the cut) is byte for byte the snapshot made from the stored rows."""

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit.models import EnterpriseScore, SnapshotEntry
from credit.publication import entry_document, snapshot_publish
from credit.recompute.clock import activate_due_records
from credit.recompute.full import recompute_all
from credit.rulebook import KIND_GOOD, load_default_rulebook
from credit.selectors import clear_snapshot_caches
from credit.services import record_create, risk_update
from credit.signing import signed_headers
from credit.tender_auth import tender_client_create
from tests.factories import EnterpriseFactory, region

pytestmark = pytest.mark.django_db

RULES = load_default_rulebook().rules
# Per firm: records as (rule, days before today), and maybe a risk estimate.
record_st = st.tuples(st.sampled_from(RULES), st.integers(min_value=0, max_value=1500))
firm_st = st.tuples(
    st.lists(record_st, max_size=6),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
)
world_st = st.tuples(
    st.lists(firm_st, min_size=1, max_size=6),
    st.sampled_from([0, 5]),  # objection window: records count at once, or some are pending
    st.sampled_from([0.1, 0.3]),  # the population mean of most estimates
)


class _RollBack(Exception):
    """Undoes one example's world."""


@dataclass(frozen=True)
class Shown:
    grade: str
    score: str
    rule_score: str
    model_adjustment: str


def build_world(firms, window_days, mean, today, actor) -> list:
    enterprises = []
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=window_days):
        for index, (records, probability) in enumerate(firms):
            firm = EnterpriseFactory(region=region("150100"))
            for serial, (rule, days_ago) in enumerate(records):
                record_create(
                    enterprise=firm,
                    rule_code=rule.code,
                    decided_at=today - timedelta(days=days_ago),
                    source="award" if rule.kind == KIND_GOOD else "inspection",
                    source_ref=f"world-{index}-{serial}",
                    actor=actor,
                )
            if probability is not None:
                # Every third estimate against another mean: the bulk path's per-firm branch.
                risk_update(
                    enterprise=firm,
                    probability=probability,
                    population_mean=mean if index % 3 else 0.2,
                    model_version="risk-test",
                    reasons=["近一年投诉较多"],
                )
            enterprises.append(firm)
    activate_due_records(today=today)
    return enterprises


def tender_standing(client: Client, credentials, uscc: str) -> Shown:
    tender, secret = credentials
    path = f"/api/tender/v1/enterprises/{uscc}"
    headers = signed_headers(
        client_id=tender.client_id, secret=secret, method="GET", path=path, query_string=""
    )
    body = client.get(path, headers=headers).json()
    return Shown(
        grade=body["grade"],
        score=f"{body['score']:.2f}",
        rule_score=f"{body['rule_score']:.2f}",
        model_adjustment=f"{body['model_adjustment']:.2f}",
    )


def page_standing(client: Client, uscc: str) -> Shown:
    html = client.get(f"/credit/e/{uscc}/").content.decode()

    def row(label: str) -> str:
        return re.search(rf"{label}</th><td>([^<]+)</td>", html).group(1)

    grade = re.search(r'<span class="grade grade-\w+">(\w+)</span>', html)
    return Shown(
        grade=grade.group(1) if grade else "",
        score=row("信用分"),
        rule_score=row("规则得分"),
        model_adjustment=row("风险模型调整"),
    )


def standing_of(row: EnterpriseScore | SnapshotEntry) -> Shown:
    return Shown(
        grade=row.grade,
        score=f"{row.score:.2f}",
        rule_score=f"{row.rule_score:.2f}",
        model_adjustment=f"{row.model_adjustment:.2f}",
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=world_st)
def test_stored_score_snapshot_page_and_tender_answer_agree(world, clock, reviewer):
    firms, window_days, mean = world
    try:
        with transaction.atomic():
            clear_snapshot_caches()
            enterprises = build_world(firms, window_days, mean, clock.today, reviewer)
            credentials = tender_client_create(name="属性测试平台")
            recompute_all()  # the stored rows, by the bulk path on PostgreSQL
            snapshot = snapshot_publish(actor=None)
            client = Client()

            entries = {e.enterprise_id: e for e in SnapshotEntry.objects.filter(snapshot=snapshot)}
            for firm in enterprises:
                row = EnterpriseScore.objects.get(pk=firm.pk)
                entry = entries[firm.pk]
                stored = standing_of(row)
                assert not row.dirty
                assert standing_of(entry) == stored
                assert (entry.reasons, entry.tender_benefit_codes) == (
                    row.reasons,
                    row.tender_benefit_codes,
                )
                assert entry.has_effective_serious == row.has_effective_serious
                assert tender_standing(client, credentials, firm.uscc) == stored
                assert page_standing(client, firm.uscc) == stored

            # Every stored row behind: each firm is scored in the cut, and the snapshot says
            # exactly the same, hash and all.
            documents = {e.uscc: entry_document(e) for e in entries.values()}
            EnterpriseScore.objects.update(dirty=True)
            again = snapshot_publish(actor=None)
            assert again.sha256 == snapshot.sha256
            assert {
                e.uscc: entry_document(e) for e in SnapshotEntry.objects.filter(snapshot=again)
            } == documents
            raise _RollBack
    except _RollBack:
        pass
    finally:
        clear_snapshot_caches()


def test_a_change_the_sweeper_has_not_reached_is_published_as_it_will_be_stored(
    firm, reviewer, clock, no_window
):
    # Given a stored score with a model part, then a new estimate of the same model version
    # (the counted records, rulebook and model version all unchanged: only the flag tells)
    risk_update(
        enterprise=firm, probability=0.1, population_mean=0.1, model_version="m", reasons=[]
    )
    recompute_all()
    risk_update(
        enterprise=firm, probability=0.6, population_mean=0.1, model_version="m", reasons=[]
    )
    assert EnterpriseScore.objects.get(pk=firm.pk).dirty

    # When a snapshot is published before the recompute ran
    entry = SnapshotEntry.objects.get(snapshot=snapshot_publish(actor=None), enterprise=firm)

    # Then it shows what the recompute then stores, not the stale row
    from credit.recompute.firm import recompute_enterprise

    stored = recompute_enterprise(enterprise_id=firm.pk)
    assert stored.model_adjustment < 0
    assert (entry.score, entry.model_adjustment, entry.reasons) == (
        stored.score,
        stored.model_adjustment,
        stored.reasons,
    )
