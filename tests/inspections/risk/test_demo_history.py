"""seed_demo's later steps: credit history, simulated inspections, a trained model, one plan."""

import pytest
from django.utils import timezone

from credit.models import CreditRecord, EnterpriseRisk, Snapshot
from inspections import demo_data, demo_work
from inspections.models import (
    Complaint,
    Finding,
    Inspection,
    InspectionPlan,
    ManagementContract,
    PlanItem,
    Project,
    ProjectRisk,
    RiskModelVersion,
)
from inspections.risk.simulated_history import HISTORY_NOTE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("model_store")]


def rows() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            CreditRecord,
            Inspection,
            Finding,
            Complaint,
            RiskModelVersion,
            ProjectRisk,
            InspectionPlan,
            PlanItem,
        )
    }


def test_the_demo_has_history_a_model_scores_and_a_plan_and_a_rerun_adds_nothing():
    today = timezone.localdate()

    ctx = demo_data.seed_demo(enterprises=20, years=3, seed=5, today=today)

    # The history, not the work the last steps leave waiting (tests/inspections/test_demo_work.py).
    history = CreditRecord.objects.exclude(source_ref__startswith="demo-work-")
    assert ctx.counts["credit_records_written"] == history.count() > 0
    assert (
        ctx.counts["inspections_written"]
        == Inspection.objects.filter(note=HISTORY_NOTE).count()
        > 0
    )
    assert Inspection.objects.exclude(note=HISTORY_NOTE).count() == len(demo_work.DEMO_INSPECTIONS)
    assert Finding.objects.filter(review_status="confirmed").exists()
    assert (ctx.counts["risk_models_trained"], ctx.counts["plans_written"]) == (1, 1)
    model = RiskModelVersion.objects.get()
    # Twenty firms' history cannot show a model beating the simple rankings by more than
    # chance: it is registered and scores, but is not live (the promotion gate).
    assert model.status == "candidate" and model.drift_as_of == today
    assert not model.metrics["holdout"]["gate"]["passed"]
    assert not EnterpriseRisk.objects.filter(live=True).exists()
    assert set(ProjectRisk.objects.values_list("project_id", flat=True)) == set(
        Project.objects.values_list("id", flat=True)
    )
    managing = set(
        ManagementContract.objects.filter(end_date__isnull=True).values_list(
            "enterprise_id", flat=True
        )
    )
    assert set(EnterpriseRisk.objects.values_list("enterprise_id", flat=True)) == managing
    assert Snapshot.objects.order_by("-id").first().model_version == model.version
    plan = InspectionPlan.objects.get()
    assert (plan.region_id, plan.approved_by.username) == ("150100", "admin")
    assert not plan.items.filter(selected_by="model").exists()  # the simple ranking instead
    assignees = set(plan.items.values_list("task__assignee__user__username", flat=True))
    assert assignees == {"inspector_150100"}
    before = rows()

    again = demo_data.seed_demo(enterprises=20, years=3, seed=5, today=today)

    assert rows() == before
    assert [again.counts[k] for k in ("credit_records_written", "inspections_written")] == [0, 0]
    assert [again.counts[k] for k in ("risk_models_trained", "plans_written")] == [0, 0]
