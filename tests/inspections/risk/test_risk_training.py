"""Training and nightly scoring end to end on a small simulated database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from backend.exceptions import DomainError
from backend.models import AuditEntry
from backend.storage import get_store
from credit.models import EnterpriseRisk, StaffRole
from credit.recompute.firm import recompute_enterprise
from credit.selectors import active_rulebook
from inspections.models import ProjectRisk, RiskModelStatus, RiskModelVersion
from inspections.risk.plan_services import plan_preview
from inspections.risk.registry import (
    MAX_ARTIFACT_BYTES,
    load_model,
    reference_from_bytes,
    risk_model_promote,
)
from inspections.risk.scoring import risk_score_all
from inspections.risk.training import risk_model_train
from inspections.tasks import score_risk, train_risk_model
from ml import persistence
from ml.features import FEATURE_NAMES
from tests.factories import staff
from tests.inspections.risk.conftest import bureau_client, simulated_db

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("model_store")]


def test_training_stores_the_artifact_and_registers_the_first_version_gated():
    db = simulated_db()

    row = risk_model_train(today=db.today)

    store = get_store()
    artifact = store.read_bytes(row.object_key, max_bytes=MAX_ARTIFACT_BYTES)
    assert persistence.read_metadata(artifact)["version"] == row.version
    assert load_model(row).feature_names == FEATURE_NAMES
    reference = reference_from_bytes(store.read_bytes(row.reference_key, max_bytes=10**8))
    assert list(reference.columns) == [*FEATURE_NAMES, "probability"]
    assert len(reference) == len(db.projects)
    holdout = row.metrics["holdout"]
    # Eighty compounds cannot show a lead over the simple rankings larger than chance: the first
    # version is registered, but becomes active only when it passed the gate.
    assert holdout["gate"]["comparisons"] and not holdout["gate"]["passed"]
    assert row.status == RiskModelStatus.CANDIDATE
    assert set(holdout["model"]) >= {"roc_auc", "pr_auc", "brier", "ece", "precision_at_k"}
    assert set(holdout["days_earlier"]) == {"model", "past_findings", "random_mean", "perfect"}
    # Every hold-out row falls in exactly one league and one size segment.
    segments = row.metrics["segments"]
    assert sum(s["n"] for s in segments["league"]) == holdout["n"]
    assert sum(s["n"] for s in segments["size"]) == holdout["n"]
    assert sum(s["selected"] for s in segments["league"]) == sum(
        s["selected"] for s in segments["size"]
    )
    assert row.data_until == db.today - timedelta(days=1)
    assert (
        AuditEntry.objects.filter(action="risk_model.registered", object_id=row.version).count()
        == 1
    )

    again = risk_model_train(today=db.today)

    assert again.pk == row.pk
    assert RiskModelVersion.objects.count() == 1


def test_commands_train_and_score_and_the_credit_score_takes_the_model_part(capsys):
    db = simulated_db()

    call_command("train_risk_model", "--today", db.today.isoformat())
    # Staff make it live with a recorded reason (it cannot pass the gate on eighty compounds).
    admin = staff(role=StaffRole.ADMIN, regions=("150000",)).user
    risk_model_promote(
        user=admin, version=RiskModelVersion.objects.get().version, reason="测试：人工启用"
    )
    call_command("score_risk", "--today", db.today.isoformat())

    out = capsys.readouterr().out
    assert "reading events" in out and "hold-out" in out and "registered" in out
    assert f"{len(db.projects)} compounds" in out
    version = RiskModelVersion.objects.get().version
    risks = dict(ProjectRisk.objects.values_list("project_id", "probability"))
    assert set(risks) == {p.id for p in db.projects}
    assert all(0.0 <= p <= 1.0 for p in risks.values())
    assert all(r.model_version == version and r.reasons for r in ProjectRisk.objects.all())

    managed: dict[int, list[float]] = {}
    for project in db.projects:
        managed.setdefault(project.contracts.get().enterprise_id, []).append(risks[project.id])
    expected = {firm: sum(ps) / len(ps) for firm, ps in managed.items()}
    stored = {r.enterprise_id: r for r in EnterpriseRisk.objects.all()}
    assert set(stored) == set(expected)
    population_mean = sum(expected.values()) / len(expected)
    for firm, risk in stored.items():
        assert risk.probability == pytest.approx(expected[firm], abs=1e-12)
        assert risk.population_mean == pytest.approx(population_mean, abs=1e-12)
        assert risk.model_version == version
        assert risk.reasons[0].startswith(f"所管{len(managed[firm])}个项目的平均违规概率")

    blend = active_rulebook().rulebook.model
    adjustments = []
    for firm, risk in stored.items():
        score = recompute_enterprise(enterprise_id=firm)
        raw = float(blend.weight) * (risk.population_mean - risk.probability)
        clipped = min(max(raw, -float(blend.cap)), float(blend.cap))
        if score.has_effective_serious:
            clipped = min(clipped, 0.0)
        expected_adjustment = Decimal(round(clipped * 100)).scaleb(-2)
        assert score.model_adjustment == expected_adjustment
        assert score.score == score.rule_score + expected_adjustment
        assert score.model_version == version
        codes = [reason["code"] for reason in score.reasons]
        model_line = codes.index("model_adjustment")
        # The model's own reasons follow its line (after the serious-record rule, if it applied).
        shown = [
            r["text_zh"] for r in score.reasons[model_line + 1 :] if r["code"] == "model_reason"
        ]
        assert shown == [f"风险模型：{text}" for text in risk.reasons]
        adjustments.append(score.model_adjustment)
    assert any(a != 0 for a in adjustments)  # the model part really moved some score
    # One bulk update for the whole run, audited once.
    assert AuditEntry.objects.filter(action="credit.risks_updated").count() == 1
    card = bureau_client(staff(role=StaffRole.ADMIN, regions=("150000",))).get(
        "/api/bureau/v1/model"
    )
    assert card.status_code == 200, card.content
    assert (card.json()["version"], card.json()["n_holdout"]) == (
        version,
        RiskModelVersion.objects.get().metrics["holdout"]["n"],
    )
    row = RiskModelVersion.objects.get()
    assert set(row.drift) == set(FEATURE_NAMES) - {"cutoff_month"} | {"probability"}
    assert row.drift_as_of == db.today


def test_score_risk_without_a_model_says_so():
    assert score_risk() == "no_model"
    with pytest.raises(CommandError, match="train_risk_model"):
        call_command("score_risk")


def test_train_risk_model_without_history_reports_and_registers_nothing():
    assert train_risk_model() == "not_enough_history"
    assert RiskModelVersion.objects.count() == 0
    with pytest.raises(CommandError, match="巡查历史不足"):
        call_command("train_risk_model")


def test_a_useless_model_is_not_promoted_moves_no_score_and_the_planner_falls_back():
    # Given a history whose findings are shuffled among the visits: nothing predicts them
    db = simulated_db(shuffle_findings=True)
    admin = staff(role=StaffRole.ADMIN, regions=("150000",)).user

    row = risk_model_train(today=db.today)
    risk_score_all(today=db.today)

    # Then the model is registered but not promoted
    assert row.status == RiskModelStatus.CANDIDATE
    assert not row.metrics["holdout"]["gate"]["passed"]
    with pytest.raises(DomainError) as refused:
        risk_model_promote(user=admin, version=row.version)
    assert refused.value.code == "model_failed_gate"
    # and every score's model part is 0, saying why in plain Chinese
    risks = list(EnterpriseRisk.objects.all())
    assert risks and not any(r.live for r in risks)
    for risk in risks:
        score = recompute_enterprise(enterprise_id=risk.enterprise_id)
        assert score.model_adjustment == 0
        (line,) = [r for r in score.reasons if r["code"].startswith("model")]
        assert line["code"] == "model_not_live" and "模型调整 0 分" in line["text_zh"]
    # and the planner ranks by the best simple ranking, with the random share kept
    preview = plan_preview(
        user=admin, region_code="150000", capacity=20, start=db.today + timedelta(days=1), seed=1
    )
    chosen = [item.selected_by for item in preview.plan.items]
    assert "model" not in chosen and "ranking" in chosen and "random" in chosen
    assert all(
        "风险模型未上线" in item.reasons[0]
        for item in preview.plan.items
        if item.selected_by == "ranking"
    )
