"""Promote and roll back risk model versions: admins only, one active version, audited, and the
scores follow (a scoring run is queued on commit)."""

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from backend.errors import status_for
from backend.exceptions import DomainError
from backend.models import AuditEntry
from credit.models import StaffRole
from inspections.models import RiskModelStatus, RiskModelVersion
from inspections.risk.registry import risk_model_promote, risk_model_rollback
from tests.factories import staff

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime(2025, 1, 1, 3, 0))


def gate(*, passed: bool) -> dict:
    """A stored promotion-gate verdict (ml.gate.GateResult.as_dict) against past findings."""
    low = 1.12 if passed else 0.91
    return {
        "passed": passed,
        "k": 0.1,
        "comparisons": [
            {
                "competitor": "past_findings",
                "model_precision": 0.44,
                "competitor_precision": 0.36,
                "ratio": 1.22 if passed else 1.02,
                "interval": [low, 1.33],
            }
        ],
        "reason": "通过" if passed else "风险模型未显著优于按近一年确认违规数排序",
    }


def version_row(
    name: str, status: str, *, days: int, promoted: bool, passed: bool = True
) -> RiskModelVersion:
    trained = T0 + timedelta(days=days)
    return RiskModelVersion.objects.create(
        version=name,
        object_key=f"risk-models/{name}/model.zip",
        reference_key=f"risk-models/{name}/reference.npz",
        metrics={"holdout": {"gate": gate(passed=passed)}},
        status=status,
        trained_at=trained,
        data_until=date(2024, 12, 31) + timedelta(days=days),
        promoted_at=trained if promoted else None,
    )


@pytest.fixture
def versions():
    return {
        "v1": version_row("risk-hgb-v1", RiskModelStatus.ACTIVE, days=0, promoted=True),
        "v2": version_row("risk-hgb-v2", RiskModelStatus.CANDIDATE, days=30, promoted=False),
        "v3": version_row("risk-hgb-v3", RiskModelStatus.CANDIDATE, days=60, promoted=False),
    }


@pytest.fixture
def admin():
    return staff(role=StaffRole.ADMIN, regions=("150000",)).user


def statuses() -> dict[str, str]:
    return dict(RiskModelVersion.objects.values_list("version", "status"))


def test_promoting_retires_the_active_version_audits_and_queues_scoring(
    versions, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        row = risk_model_promote(user=admin, version="risk-hgb-v2")

    assert statuses() == {
        "risk-hgb-v1": "retired",
        "risk-hgb-v2": "active",
        "risk-hgb-v3": "candidate",
    }
    assert row.promoted_by == admin and row.promoted_at is not None
    entry = AuditEntry.objects.get(action="risk_model.promoted")
    assert (entry.object_id, entry.payload) == ("risk-hgb-v2", {"previous": "risk-hgb-v1"})
    assert [c.__qualname__ for c in callbacks] == ["enqueue_on_commit(inspections.score_risk)"]


def test_promoting_the_active_version_changes_nothing(versions, admin):
    row = risk_model_promote(user=admin, version="risk-hgb-v1")

    assert row.promoted_by is None
    assert statuses()["risk-hgb-v1"] == "active"
    assert not AuditEntry.objects.filter(action="risk_model.promoted").exists()


def test_rollback_reactivates_the_version_promoted_before(versions, admin):
    risk_model_promote(user=admin, version="risk-hgb-v2")
    risk_model_promote(user=admin, version="risk-hgb-v3")

    back = risk_model_rollback(user=admin, version="risk-hgb-v3")

    assert back.version == "risk-hgb-v2"
    assert statuses() == {
        "risk-hgb-v1": "retired",
        "risk-hgb-v2": "active",
        "risk-hgb-v3": "retired",
    }
    assert AuditEntry.objects.get(action="risk_model.rolled_back").payload == {
        "previous": "risk-hgb-v3"
    }


@pytest.mark.parametrize(
    ("version", "status", "code"),
    [
        ("risk-hgb-v2", 409, "model_not_active"),  # only the active version rolls back
        ("risk-hgb-v1", 409, "no_previous_model"),  # nothing was active before it
        ("risk-hgb-nope", 404, "unknown_model_version"),
    ],
)
def test_rollback_refusals(versions, admin, version, status, code):
    with pytest.raises(DomainError) as caught:
        risk_model_rollback(user=admin, version=version)

    assert (status_for(caught.value), caught.value.code) == (status, code)
    assert statuses()["risk-hgb-v1"] == "active"


@pytest.mark.parametrize("role", [StaffRole.REVIEWER, StaffRole.INSPECTOR])
def test_only_admins_change_the_active_model(versions, role):
    user = staff(role=role, regions=("150000",)).user

    for action in (risk_model_promote, risk_model_rollback):
        with pytest.raises(DomainError) as caught:
            action(
                user=user, version="risk-hgb-v1" if action is risk_model_rollback else "risk-hgb-v2"
            )
        assert status_for(caught.value) == 403

    assert statuses()["risk-hgb-v1"] == "active"
    assert not AuditEntry.objects.filter(action__startswith="risk_model.").exists()


def test_a_model_that_failed_the_gate_is_promoted_only_with_a_recorded_reason(versions, admin):
    version_row("risk-hgb-weak", RiskModelStatus.CANDIDATE, days=90, promoted=False, passed=False)

    with pytest.raises(DomainError) as caught:
        risk_model_promote(user=admin, version="risk-hgb-weak")
    assert (status_for(caught.value), caught.value.code) == (409, "model_failed_gate")
    assert "未显著优于" in caught.value.detail
    assert statuses()["risk-hgb-weak"] == "candidate"

    row = risk_model_promote(user=admin, version="risk-hgb-weak", reason="省厅要求试运行一个月")

    assert (row.status, row.gate_override_reason) == ("active", "省厅要求试运行一个月")
    entry = AuditEntry.objects.filter(action="risk_model.promoted").order_by("-seq").first()
    assert entry.payload["override_reason"] == "省厅要求试运行一个月"
