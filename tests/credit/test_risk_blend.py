"""The model part of the score through the database: the nightly bulk risk update, the blend at
recompute, and what snapshots, the public page and the tender API show of it."""

import math
from decimal import Decimal

import pytest
from django.db import connection

from backend.errors import status_for
from backend.exceptions import DomainError
from backend.models import AuditEntry
from credit.models import EnterpriseRisk, EnterpriseScore, SnapshotEntry
from credit.selectors import active_rulebook
from credit.services.risk import RISK_BATCH, RiskRow, risks_update
from credit.tender_auth import tender_client_create
from tests.credit.conftest import new_record, publish
from tests.credit.test_tender_api import call
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db

N_ENTERPRISES = 300
# Per run, whatever its size: savepoints, the flagging UPDATE and the audit entry (head lock,
# head creation on a fresh database, entry insert, head update). Plus one statement per chunk
# for each bulk insert (see bulk_statements).
FIXED_QUERIES = 11
REASON = "风险最高的项目「一号小区」：近180天有3次确认的一般违规"


@pytest.fixture
def tender_client():
    return tender_client_create(name="自治区公共资源交易平台")


def expected_adjustment(probability: float, population_mean: float, *, serious=False) -> Decimal:
    """clip(w · (p_ref − p), ±cap), never positive with an effective serious record."""
    blend = active_rulebook().rulebook.model
    raw = float(blend.weight) * (population_mean - probability)
    clipped = min(max(raw, -float(blend.cap)), float(blend.cap))
    if serious:
        clipped = min(clipped, 0.0)
    return Decimal(round(clipped * 100)).scaleb(-2)


def bulk_statements(model, n: int) -> int:
    """INSERTs for n rows: one per RISK_BATCH on PostgreSQL; SQLite also caps bound parameters
    per statement (999), so Django splits further there."""
    fields = model._meta.concrete_fields
    per_statement = min(RISK_BATCH, connection.ops.bulk_batch_size(fields, [None] * n))
    return math.ceil(n / per_statement)


def spread_risks(firms) -> list[RiskRow]:
    """Probabilities from 0 to 0.6: some firms lifted, some lowered, some at either cap."""
    return [
        RiskRow(enterprise_id=firm.id, probability=0.6 * i / len(firms), reasons=[REASON])
        for i, firm in enumerate(firms)
    ]


def test_a_scoring_run_is_stored_in_bounded_queries_and_one_sweep_blends_every_score(
    clock, celery_eager, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    firms = EnterpriseFactory.create_batch(N_ENTERPRISES)
    risks = spread_risks(firms)
    population_mean = sum(r.probability for r in risks) / len(risks)
    assert len(risks) < RISK_BATCH  # one chunk: the bound below is per chunk

    max_queries = (
        FIXED_QUERIES
        + bulk_statements(EnterpriseRisk, N_ENTERPRISES)
        + bulk_statements(EnterpriseScore, N_ENTERPRISES)
    )

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        django_assert_max_num_queries(max_queries),
    ):
        stored = risks_update(
            risks=risks, model_version="risk-hgb-test", population_mean=population_mean
        )

    assert stored == N_ENTERPRISES
    assert [c.__qualname__ for c in callbacks] == ["enqueue_on_commit(credit.recompute_dirty)"]
    assert AuditEntry.objects.filter(action="credit.risks_updated").count() == 1
    scores = {s.enterprise_id: s for s in EnterpriseScore.objects.all()}
    assert len(scores) == N_ENTERPRISES
    adjustments = set()
    for risk in risks:
        score = scores[risk.enterprise_id]
        adjustment = expected_adjustment(risk.probability, population_mean)
        assert (score.dirty, score.model_version) == (False, "risk-hgb-test")
        assert score.model_adjustment == adjustment
        assert score.score == score.rule_score + adjustment
        assert f"风险模型：{REASON}" in [r["text_zh"] for r in score.reasons]
        adjustments.add(adjustment)
    assert {Decimal("5.00"), Decimal("-5.00")} <= adjustments  # both caps reached


def test_a_second_run_replaces_the_estimates(clock):
    firms = EnterpriseFactory.create_batch(3)
    risks_update(risks=spread_risks(firms), model_version="m1", population_mean=0.2)
    EnterpriseScore.objects.update(dirty=False, dirty_since=None)

    risks_update(
        risks=[RiskRow(enterprise_id=firms[0].id, probability=0.9, reasons=["新原因"])],
        model_version="m2",
        population_mean=0.3,
    )

    rows = {r.enterprise_id: r for r in EnterpriseRisk.objects.all()}
    assert (rows[firms[0].id].probability, rows[firms[0].id].population_mean) == (0.9, 0.3)
    assert (rows[firms[0].id].model_version, rows[firms[0].id].reasons) == ("m2", ["新原因"])
    assert rows[firms[1].id].model_version == "m1"
    dirty = dict(EnterpriseScore.objects.values_list("enterprise_id", "dirty"))
    assert dirty == {firms[0].id: True, firms[1].id: False, firms[2].id: False}


def test_a_complete_run_withdraws_the_estimate_of_a_firm_it_did_not_score(
    clock, celery_eager, django_capture_on_commit_callbacks
):
    kept, left = EnterpriseFactory.create_batch(2)
    with django_capture_on_commit_callbacks(execute=True):
        risks_update(risks=spread_risks([kept, left]), model_version="m1", population_mean=0.2)
    before = EnterpriseScore.objects.get(pk=left.pk)
    assert before.model_adjustment != 0 and "model_reason" in [r["code"] for r in before.reasons]

    # The next night `left` manages no compound any more: the run has no estimate for it.
    with django_capture_on_commit_callbacks(execute=True):
        risks_update(
            risks=[RiskRow(enterprise_id=kept.id, probability=0.1, reasons=[REASON])],
            model_version="m2",
            population_mean=0.3,
            withdraw_others=True,
        )

    assert list(EnterpriseRisk.objects.values_list("enterprise_id", "model_version")) == [
        (kept.id, "m2")
    ]
    gone = EnterpriseScore.objects.get(pk=left.pk)
    assert (gone.model_adjustment, gone.score, gone.dirty) == (0, gone.rule_score, False)
    assert "model_reason" not in [r["code"] for r in gone.reasons]
    entry = AuditEntry.objects.filter(action="credit.risks_updated").latest("seq")
    assert entry.payload["withdrawn"] == [left.id]


def test_a_run_with_an_impossible_probability_stores_nothing(firm, clock):
    with pytest.raises(DomainError) as error:
        risks_update(
            risks=[RiskRow(enterprise_id=firm.id, probability=1.5)],
            model_version="m1",
            population_mean=0.2,
        )

    assert status_for(error.value) == 422
    assert not EnterpriseRisk.objects.exists()


def test_a_firm_with_a_serious_record_is_not_lifted_and_is_told_why(
    firm, reviewer, clock, no_window, celery_eager, django_capture_on_commit_callbacks
):
    new_record(firm, "TENDER-FRAUD", reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        risks_update(
            risks=[RiskRow(enterprise_id=firm.id, probability=0.01, reasons=[REASON])],
            model_version="m1",
            population_mean=0.2,
        )

    score = EnterpriseScore.objects.get(pk=firm.pk)
    assert score.model_adjustment == expected_adjustment(0.01, 0.2, serious=True) == 0
    codes = [r["code"] for r in score.reasons]
    assert "model_no_lift_with_serious_record" in codes and "model_reason" in codes


def test_published_score_shows_the_model_part_and_its_reasons_without_personal_data(
    client,
    firm,
    reviewer,
    clock,
    no_window,
    celery_eager,
    django_capture_on_commit_callbacks,
    tender_client,
):
    new_record(firm, "FEE-UNLISTED", reviewer, facts="巡查员王五发现业主赵六反映")
    with django_capture_on_commit_callbacks(execute=True):
        risks_update(
            risks=[RiskRow(enterprise_id=firm.id, probability=0.05, reasons=[REASON])],
            model_version="risk-hgb-abc",
            population_mean=0.1,
        )
    snapshot = publish()

    entry = SnapshotEntry.objects.get(snapshot=snapshot, enterprise=firm)
    html = client.get(f"/credit/e/{firm.uscc}/").content.decode()
    tender = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{firm.uscc}").json()

    # 20 · (0.10 − 0.05) = 1 point on top of 100 − 10
    assert (entry.rule_score, entry.model_adjustment, entry.score) == (
        Decimal("90.00"),
        Decimal("1.00"),
        Decimal("91.00"),
    )
    assert snapshot.model_version == "risk-hgb-abc"
    texts = [r["text_zh"] for r in entry.reasons]
    assert f"风险模型：{REASON}" in texts
    model_line = texts.index(next(t for t in texts if t.startswith("风险模型 risk-hgb-abc")))
    assert texts[model_line + 1] == f"风险模型：{REASON}"
    assert "<td>1.00</td>" in html  # the model part
    # In plain words, with what the estimate rests on; the model's id only in the data notes.
    assert "根据巡查数据估计的风险，调整 +1 分，最多 ±5 分。" in html
    assert f"<li>{REASON}</li>" in html
    body, notes = html.split('id="data-notes"')
    assert "risk-hgb-abc" not in body and "risk-hgb-abc" in notes
    for personal in ("王五", "赵六", reviewer.username, "审核员甲"):
        assert personal not in html
    assert (tender["rule_score"], tender["model_adjustment"], tender["score"]) == (90.0, 1.0, 91.0)
