"""Bureau API `/plans` and `/model` as a bureau client calls them: roles, region scope, bad
input, unknown ids, and nothing written when refused."""

from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from credit.models import StaffRole
from inspections.models import InspectionPlan, InspectionTask, RiskModelStatus, RiskModelVersion
from tests.factories import DEFAULT_PASSWORD, ProjectFactory, region, staff
from tests.inspections.risk.conftest import bureau_client

pytestmark = pytest.mark.django_db

PREVIEW = "/api/bureau/v1/plans/preview"
PLANS = "/api/bureau/v1/plans"
MODEL = "/api/bureau/v1/model"


@pytest.fixture
def start() -> date:
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def compounds(db):
    """Three never-inspected compounds in 呼和浩特 with an inspector; one in 包头."""
    staff(role=StaffRole.INSPECTOR, regions=("150100",))
    hohhot = [ProjectFactory(name=f"青城小区{i}") for i in range(3)]
    baotou = ProjectFactory(name="鹿城小区", region=region("150200"), lat=40.6, lon=109.8)
    return {"hohhot": hohhot, "baotou": baotou}


def query(start: date, **extra) -> dict:
    return {"region": "150100", "capacity": 2, "start": start.isoformat(), **extra}


def written() -> tuple[int, int]:
    return InspectionPlan.objects.count(), InspectionTask.objects.count()


def test_reviewer_previews_a_ranked_explained_plan(planner_reviewer, compounds, start):
    response = bureau_client(planner_reviewer).get(PREVIEW, query(start, seed=5))

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["region"], body["capacity"], body["seed"], body["eligible"]) == ("150100", 2, 5, 3)
    assert body["due_date"] == (start + timedelta(days=27)).isoformat()
    assert [item["rank"] for item in body["items"]] == [1, 2]
    first = body["items"][0]
    assert first["selected_by"] == "overdue"
    assert first["reasons"] == ["从未巡查"]
    assert first["project"]["id"] == compounds["hohhot"][0].id
    assert first["project"]["days_since_inspection"] is None
    assert body["mandatory_left_out"] == 1
    assert written() == (0, 0)


def test_preview_without_a_seed_draws_one_and_echoes_it(planner_reviewer, compounds, start):
    body = bureau_client(planner_reviewer).get(PREVIEW, query(start)).json()

    assert 0 <= body["seed"] < 2**31


@pytest.mark.parametrize(
    "bad",
    [
        {"capacity": 0},
        {"capacity": "many"},
        {"start": "next monday"},
        {"region": "15010"},
        {"region": "abcdef"},
        {"random_share": 1.5},
        {"seed": -1},
    ],
)
def test_malformed_queries_are_422(planner_reviewer, compounds, start, bad):
    response = bureau_client(planner_reviewer).get(PREVIEW, query(start) | bad)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("start", "code"),
    [
        (timezone.localdate() - timedelta(days=1), "start_in_past"),
        (timezone.localdate() + timedelta(days=367), "start_too_far"),
        (date(9999, 12, 31), "start_too_far"),  # its round would end after the last date
    ],
)
def test_a_start_in_the_past_or_years_ahead_is_422(planner_reviewer, compounds, start, code):
    response = bureau_client(planner_reviewer).get(PREVIEW, query(start))

    assert (response.status_code, response.json()["code"]) == (422, code)


@pytest.mark.parametrize("code", ["150200", "150999"])
def test_other_or_unknown_regions_are_404(planner_admin, compounds, start, code):
    client = bureau_client(planner_admin)

    preview = client.get(PREVIEW, query(start, region=code))
    approve = client.post(PLANS, query(start, region=code), content_type="application/json")

    assert (preview.status_code, preview.json()["code"]) == (404, "region_not_found")
    assert (approve.status_code, approve.json()["code"]) == (404, "region_not_found")
    assert written() == (0, 0)


def test_admin_approves_and_tasks_are_created(planner_admin, compounds, start):
    client = bureau_client(planner_admin)

    response = client.post(PLANS, query(start, seed=9), content_type="application/json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["region"], body["seed"], body["approved_by"]) == (
        "150100",
        9,
        planner_admin.user.username,
    )
    assert [item["selected_by"] for item in body["items"]] == ["overdue", "overdue"]
    tasks = InspectionTask.objects.filter(plan_id=body["id"])
    assert sorted(t.id for t in tasks) == sorted(item["task"]["id"] for item in body["items"])
    again = client.get(f"{PLANS}/{body['id']}")
    assert again.status_code == 200 and again.json() == body


def test_reviewers_cannot_approve(planner_reviewer, compounds, start):
    response = bureau_client(planner_reviewer).post(
        PLANS, query(start), content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (403, "forbidden_role")
    assert written() == (0, 0)


def test_malformed_plan_bodies_are_422(planner_admin, compounds, start):
    response = bureau_client(planner_admin).post(
        PLANS, {"region": "150100", "capacity": -3}, content_type="application/json"
    )

    assert response.status_code == 422
    assert written() == (0, 0)


def test_unknown_and_foreign_plans_are_404(planner_admin, compounds, start):
    baotou_admin = staff(role=StaffRole.ADMIN, regions=("150200",))
    staff(role=StaffRole.INSPECTOR, regions=("150200",))
    client = bureau_client(baotou_admin)
    plan_id = client.post(
        PLANS, query(start, region="150200", capacity=1), content_type="application/json"
    ).json()["id"]

    mine = bureau_client(planner_admin)

    assert mine.get(f"{PLANS}/{plan_id}").status_code == 404
    assert mine.get(f"{PLANS}/999999").status_code == 404
    assert mine.get(f"{PLANS}/not-a-number").status_code == 422


def test_inspectors_have_no_bureau_access(compounds, start):
    inspector = staff(role=StaffRole.INSPECTOR, regions=("150100",))

    sign_in = Client().post(
        "/api/bureau/v1/auth/token",
        {"username": inspector.user.username, "password": DEFAULT_PASSWORD, "device_id": "pc"},
        content_type="application/json",
    )
    anonymous = Client().get(PREVIEW, query(start))

    assert sign_in.status_code == 401
    assert anonymous.status_code == 401


# --- model -------------------------------------------------------------------------------------
# What ml.gate.GateResult.as_dict stores for a model that beat every competitor.
PASSED_GATE = {
    "passed": True,
    "k": 0.1,
    "confidence": 0.95,
    "bootstrap_draws": 400,
    "comparisons": [
        {
            "competitor": "past_findings",
            "competitor_name": "按近一年确认违规数排序",
            "model_precision": 0.5,
            "competitor_precision": 0.4,
            "ratio": 1.25,
            "interval": [1.1, 1.4],
            "beaten": True,
        }
    ],
    "best_simple_ranking": "past_findings",
    "reason": "风险模型在后一时段的留出数据上优于所有对照排序",
}


def model_row(version: str, status: str, days: int = 0) -> RiskModelVersion:
    trained = timezone.make_aware(datetime(2025, 1, 1, 3)) + timedelta(days=days)
    metrics = {
        "holdout": {
            "gate": PASSED_GATE,
            "n": 40,
            "base_rate": 0.2,
            "model": {
                "roc_auc": 0.71,
                "pr_auc": 0.4,
                "brier": 0.15,
                "ece": 0.02,
                "k": 0.1,
                "precision_at_k": 0.5,
                "recall_at_k": 0.25,
                "lift_at_k": 2.5,
                "calibration": [
                    {"mean_predicted": 0.1, "observed_rate": 0.12, "n": 20},
                    {"mean_predicted": 0.3, "observed_rate": 0.28, "n": 20},
                ],
            },
            "logistic": {"roc_auc": 0.69},
            "past_findings": {"roc_auc": 0.6, "precision_at_k": 0.25},
            "precision_ratio_vs_past_findings": 2.0,
            "days_earlier": {
                "model": 12.5,
                "past_findings": 4.0,
                "random_mean": 0.1,
                "perfect": 40.0,
            },
            "first_half_share": {"actual": 0.5, "model": 0.7, "perfect": 1.0},
        },
        "segments": {
            "league": [
                {
                    "segment": "150100",
                    "n": 40,
                    "base_rate": 0.2,
                    "selected": 4,
                    "selection_rate": 0.1,
                    "precision": 0.5,
                }
            ],
            "size": [
                {
                    "segment": "1个项目",
                    "n": 40,
                    "base_rate": 0.2,
                    "selected": 4,
                    "selection_rate": 0.1,
                    "precision": 0.5,
                }
            ],
        },
    }
    return RiskModelVersion.objects.create(
        version=version,
        object_key=f"risk-models/{version}/model.zip",
        reference_key=f"risk-models/{version}/reference.npz",
        metadata={"holdout_cutoff": "2024-07-04"},
        metrics=metrics,
        status=status,
        trained_at=trained,
        data_until=date(2024, 12, 31),
        promoted_at=trained if status == RiskModelStatus.ACTIVE else None,
        drift={"inspections_365d": 0.3, "area_10k_m2": 0.01},
        drift_as_of=date(2025, 1, 2),
    )


def test_no_model_yet_is_404(planner_reviewer):
    response = bureau_client(planner_reviewer).get(MODEL)

    assert (response.status_code, response.json()["code"]) == (404, "no_model")


def test_model_card_shows_metrics_calibration_segments_drift_and_versions(planner_reviewer):
    model_row("risk-hgb-old", RiskModelStatus.RETIRED)
    model_row("risk-hgb-now", RiskModelStatus.ACTIVE, days=30)

    response = bureau_client(planner_reviewer).get(MODEL)

    assert response.status_code == 200, response.content
    card = response.json()
    assert (card["version"], card["status"], card["holdout_cutoff"]) == (
        "risk-hgb-now",
        "active",
        "2024-07-04",
    )
    assert card["model"]["roc_auc"] == 0.71 and card["model"]["lift_at_k"] == 2.5
    assert card["logistic"]["roc_auc"] == 0.69 and card["logistic"]["pr_auc"] is None
    assert card["precision_ratio_vs_past_findings"] == 2.0
    assert card["days_earlier"]["model"] == 12.5
    assert card["calibration"][1] == {"mean_predicted": 0.3, "observed_rate": 0.28, "n": 20}
    assert card["segments_by_league"][0]["label"] == "呼和浩特市"
    assert card["segments_by_size"][0]["precision"] == 0.5
    assert card["drift"] == [
        {"feature": "inspections_365d", "psi": 0.3, "level": "retrain"},
        {"feature": "area_10k_m2", "psi": 0.01, "level": "stable"},
    ]
    assert [v["version"] for v in card["versions"]] == ["risk-hgb-now", "risk-hgb-old"]


def test_admin_promotes_and_rolls_back_through_the_api(planner_admin):
    model_row("risk-hgb-old", RiskModelStatus.ACTIVE)
    model_row("risk-hgb-new", RiskModelStatus.CANDIDATE, days=30)
    client = bureau_client(planner_admin)

    promoted = client.post(f"{MODEL}/versions/risk-hgb-new/promote")
    rolled = client.post(f"{MODEL}/versions/risk-hgb-new/rollback")

    assert (promoted.status_code, promoted.json()["status"]) == (200, "active")
    assert promoted.json()["promoted_by"] == planner_admin.user.username
    assert (rolled.status_code, rolled.json()["version"]) == (200, "risk-hgb-old")
    assert RiskModelVersion.objects.get(status="active").version == "risk-hgb-old"


def test_reviewers_cannot_promote_and_unknown_versions_are_404(planner_reviewer, planner_admin):
    model_row("risk-hgb-old", RiskModelStatus.ACTIVE)
    model_row("risk-hgb-new", RiskModelStatus.CANDIDATE, days=30)

    refused = bureau_client(planner_reviewer).post(f"{MODEL}/versions/risk-hgb-new/promote")
    unknown = bureau_client(planner_admin).post(f"{MODEL}/versions/risk-hgb-nope/promote")

    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden_role")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_model_version")
    assert RiskModelVersion.objects.get(status="active").version == "risk-hgb-old"
