"""Bureau pages: the planner (ranked list, reasons, inline SVG) and the model card."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from credit.models import StaffRole
from inspections.models import InspectionPlan, RiskModelStatus, RiskModelVersion
from tests.bureau_api.test_plans import model_row
from tests.factories import ProjectFactory, staff

pytestmark = pytest.mark.django_db


def signed_in(profile) -> Client:
    client = Client()
    client.force_login(profile.user)
    return client


@pytest.fixture
def round_start():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def compounds(db):
    staff(role=StaffRole.INSPECTOR, regions=("150100",))
    return [ProjectFactory(name=f"青城小区{i}") for i in range(3)]


def test_planner_page_shows_the_ranked_list_with_reasons_and_a_chart(
    planner_reviewer, compounds, round_start
):
    response = signed_in(planner_reviewer).get(
        "/bureau/plans/", {"region": "150100", "capacity": 3, "start": round_start.isoformat()}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<rect class="bar-overdue"') == 3
    assert all(c.name in html for c in compounds)
    assert "从未巡查" in html and "超过12个月未巡查" in html
    assert "批准计划需要管理员账号" in html  # reviewers look, admins approve
    assert "<script" not in html and "style=" not in html and "<style" not in html  # the CSP


def test_every_bar_of_the_planner_chart_carries_its_rank_compound_and_value(
    planner_reviewer, compounds, round_start
):
    html = (
        signed_in(planner_reviewer)
        .get(
            "/bureau/plans/", {"region": "150100", "capacity": 3, "start": round_start.isoformat()}
        )
        .content.decode()
    )

    chart = html[html.index("<svg") : html.index("</svg>")]
    assert chart.count('<text class="rank"') == chart.count('<text class="value"') == 3
    assert [f"#{rank}" for rank in (1, 2, 3)] == re.findall(r'class="rank"[^>]*>([^<]+)<', chart)
    assert {c.name for c in compounds} == set(re.findall(r'class="name"[^>]*>([^<]+)<', chart))
    assert "排名 · 项目" in chart and "违规概率" in chart  # the axes say what they show
    assert 'class="tick"' in chart and ">0%<" in chart


def test_the_planner_lists_approved_plans_by_region_name(planner_admin, compounds, round_start):
    client = signed_in(planner_admin)
    client.post(
        "/bureau/plans/approve/",
        {"region": "150100", "capacity": "2", "start": round_start.isoformat(), "seed": "3"},
    )
    plan = InspectionPlan.objects.get()

    html = client.get("/bureau/plans/").content.decode()
    detail = client.get(f"/bureau/plans/{plan.id}/").content.decode()

    assert f'href="/bureau/plans/{plan.id}/"' in html and "呼和浩特市" in html
    assert "（150100）" not in html
    assert f"第 {plan.id} 号巡查计划 · 呼和浩特市" in detail
    assert "已派发" in detail and "assigned" not in detail  # task states in Chinese


def test_admin_approves_from_the_page(planner_admin, compounds, round_start):
    client = signed_in(planner_admin)
    page = client.get(
        "/bureau/plans/",
        {"region": "150100", "capacity": 2, "start": round_start.isoformat(), "seed": "3"},
    )
    assert "批准计划并派发任务" in page.content.decode()

    response = client.post(
        "/bureau/plans/approve/",
        {"region": "150100", "capacity": "2", "start": round_start.isoformat(), "seed": "3"},
    )

    plan = InspectionPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/bureau/plans/{plan.id}/"
    detail = client.get(response["Location"]).content.decode()
    assert "已派发 2 项任务" in detail and compounds[0].name in detail


def test_bad_planner_input_is_explained_not_crashing(planner_reviewer, compounds):
    response = signed_in(planner_reviewer).get(
        "/bureau/plans/", {"region": "150100", "capacity": "x", "start": "soon"}
    )

    assert response.status_code == 200
    assert "请填写有效的区划" in response.content.decode()


def test_inspectors_get_the_forbidden_page(compounds):
    inspector = staff(role=StaffRole.INSPECTOR, regions=("150100",))

    assert signed_in(inspector).get("/bureau/plans/").status_code == 403
    assert signed_in(inspector).get("/bureau/model/").status_code == 403


def test_model_card_page_draws_calibration_and_offers_admins_the_buttons(
    planner_reviewer, planner_admin
):
    model_row("risk-hgb-old", RiskModelStatus.RETIRED)
    model_row("risk-hgb-now", RiskModelStatus.ACTIVE, days=30)

    as_reviewer = signed_in(planner_reviewer).get("/bureau/model/").content.decode()
    as_admin = signed_in(planner_admin).get("/bureau/model/").content.decode()

    assert as_reviewer.count("<circle") == 2  # one dot per calibration group
    assert "呼和浩特市" in as_reviewer and "建议重新训练" in as_reviewer
    assert "项目近一年被巡查次数" in as_reviewer and "项目建筑面积（万平方米）" in as_reviewer
    assert "inspections_365d" not in as_reviewer and "area_10k_m2" not in as_reviewer
    assert "预测的违规概率" in as_reviewer and "实际违规率" in as_reviewer  # axis titles
    assert "/bureau/model/risk-hgb-now/rollback/" not in as_reviewer
    assert "/bureau/model/risk-hgb-now/rollback/" in as_admin
    assert "/bureau/model/risk-hgb-old/promote/" in as_admin


def test_admin_promotes_from_the_page(planner_admin):
    model_row("risk-hgb-old", RiskModelStatus.ACTIVE)
    model_row("risk-hgb-new", RiskModelStatus.CANDIDATE, days=30)

    response = signed_in(planner_admin).post("/bureau/model/risk-hgb-new/promote/")

    assert response.status_code == 302
    assert RiskModelVersion.objects.get(status="active").version == "risk-hgb-new"


def test_model_page_without_a_model_says_how_to_get_one(planner_reviewer):
    html = signed_in(planner_reviewer).get("/bureau/model/").content.decode()

    assert "train_risk_model" in html
