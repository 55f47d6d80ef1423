"""Bureau credit endpoints (/api/bureau/v1/credit) as staff clients call them. Every refused
call is checked to have written nothing: no row in any credit table, no audit entry."""

from datetime import date

import pytest
from django.apps import apps

from backend.audit import verify_audit_chain
from backend.models import AuditEntry
from backend.tokens import token_pair_issue
from credit.models import BlacklistEntry, CreditRecord, Objection, RecordStatus
from credit.validators import make_uscc
from tests.credit.conftest import DECIDED, new_record, rescore

pytestmark = pytest.mark.django_db

BASE = "/api/bureau/v1/credit"


def bearer(user) -> dict:
    pair = token_pair_issue(user=user, audience="bureau", device_id="test-browser")
    return {"Authorization": f"Bearer {pair.access_token}"}


def post(client, user, path, body=None):
    return client.post(
        BASE + path, body or {}, content_type="application/json", headers=bearer(user)
    )


def row_counts() -> dict[str, int]:
    counts = {m.__name__: m.objects.count() for m in apps.get_app_config("credit").get_models()}
    counts["AuditEntry"] = AuditEntry.objects.count()
    return counts


def record_body(uscc, **overrides):
    return {
        "uscc": uscc,
        "rule_code": "ADMIN-PENALTY",
        "decided_at": DECIDED.isoformat(),
        "document_no": "呼房罚〔2025〕12号",
        "facts": "未按规定公示收费标准，处以罚款。",
        **overrides,
    }


# --- the happy paths ---------------------------------------------------------------------------


def test_register_a_penalty_record(client, firm, reviewer, clock, no_window):
    response = post(client, reviewer, "/records", record_body(firm.uscc))

    body = response.json()
    assert response.status_code == 201
    assert (body["rule_code"], body["source"], body["status"], body["points"]) == (
        "ADMIN-PENALTY",
        "penalty",
        "effective",
        10.0,
    )
    assert AuditEntry.objects.filter(action="credit.record_created").count() == 1


def test_the_same_source_ref_twice_returns_the_first_record(client, firm, reviewer, clock):
    body = record_body(firm.uscc, source_ref="处罚决定-12")

    first = post(client, reviewer, "/records", body)
    second = post(client, reviewer, "/records", body)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert CreditRecord.objects.count() == 1


def test_objection_then_resolve_upheld_revokes(client, firm, reviewer, clock, five_day_window):
    record = new_record(firm, "FEE-UNLISTED", reviewer)

    filed = post(client, reviewer, f"/records/{record.id}/objection", {"grounds": "已公示"})
    resolved = post(
        client,
        reviewer,
        f"/records/{record.id}/objection/resolve",
        {"decision": "upheld", "reason": "核实属实"},
    )

    assert (filed.status_code, filed.json()["objection"]["decision"]) == (201, "")
    assert (resolved.status_code, resolved.json()["status"]) == (200, "revoked")
    assert resolved.json()["objection"]["decision"] == "upheld"
    assert verify_audit_chain().ok


def test_objection_after_the_window_is_409(client, firm, reviewer, clock, five_day_window):
    record = new_record(firm, "FEE-UNLISTED", reviewer)
    clock.advance(8)
    before = row_counts()

    response = post(client, reviewer, f"/records/{record.id}/objection", {"grounds": "晚了"})

    assert (response.status_code, response.json()["code"]) == (409, "objection_window_closed")
    assert row_counts() == before


def test_repair_too_early_is_409_then_allowed_and_approved(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    record = new_record(firm, "FEE-UNLISTED", reviewer)  # ordinary: 3 months minimum
    early = post(client, reviewer, f"/records/{record.id}/repair", {"evidence": "已整改"})
    clock.today = date(2025, 6, 5)
    applied = post(client, reviewer, f"/records/{record.id}/repair", {"evidence": "已退还费用"})
    decided = post(
        client,
        second_reviewer,
        f"/records/{record.id}/repair/decide",
        {"decision": "approved", "reason": "整改到位"},
    )

    assert (early.status_code, early.json()["code"], early.json()["earliest"]) == (
        409,
        "repair_too_early",
        "2025-06-05",
    )
    assert (applied.status_code, applied.json()["status"]) == (201, "pending")
    assert (decided.status_code, decided.json()["record_status"]) == (200, "repaired")
    assert rescore(firm).score == 100


def test_blacklist_propose_and_approve_by_two_people(
    client, firm, reviewer, second_reviewer, clock, no_window
):
    new_record(firm, "SAFETY-ACCIDENT", reviewer)
    rescore(firm)  # opens the system proposal

    proposed = post(client, reviewer, f"/blacklist/{firm.uscc}/propose", {"reason": "重大事故"})
    same = post(
        client, reviewer, f"/blacklist/{firm.uscc}/approve", {"authority": "局", "document_no": "1"}
    )
    approved = post(
        client,
        second_reviewer,
        f"/blacklist/{firm.uscc}/approve",
        {"authority": "呼和浩特市住房和城乡建设局", "document_no": "呼房黑〔2025〕3号"},
    )

    assert (proposed.status_code, proposed.json()["status"]) == (201, "proposed")
    assert (same.status_code, same.json()["code"]) == (409, "same_user")
    assert (approved.status_code, approved.json()["status"]) == (200, "active")
    assert BlacklistEntry.objects.get().entry_document_no == "呼房黑〔2025〕3号"


def test_a_system_proposal_needs_a_person_before_approval(client, firm, reviewer, clock, no_window):
    new_record(firm, "SAFETY-ACCIDENT", reviewer)
    rescore(firm)
    before = row_counts()

    response = post(
        client, reviewer, f"/blacklist/{firm.uscc}/approve", {"authority": "局", "document_no": "1"}
    )

    assert (response.status_code, response.json()["code"]) == (409, "proposal_not_endorsed")
    assert row_counts() == before


def test_propose_without_a_serious_record_is_409(client, firm, reviewer, clock, no_window):
    new_record(firm, "FEE-UNLISTED", reviewer)
    before = row_counts()

    response = post(client, reviewer, f"/blacklist/{firm.uscc}/propose", {"reason": "想列入"})

    assert (response.status_code, response.json()["code"]) == (409, "no_blacklist_basis")
    assert row_counts() == before


def test_publish_a_snapshot(client, firm, reviewer):
    response = post(client, reviewer, "/snapshots")

    body = response.json()
    assert response.status_code == 201
    assert set(body) == {"id", "published_at", "sha256", "enterprises"}
    assert (body["enterprises"], len(body["sha256"])) == (1, 64)


# --- refusals write nothing ----------------------------------------------------------------------


@pytest.fixture
def pending_record(firm, reviewer, clock, five_day_window):
    return new_record(firm, "FEE-UNLISTED", reviewer)


def _endpoints(firm, record_id):
    return [
        ("/records", record_body(firm.uscc)),
        (f"/records/{record_id}/objection", {"grounds": "理由"}),
        (f"/records/{record_id}/objection/resolve", {"decision": "upheld", "reason": "理由"}),
        (f"/records/{record_id}/repair", {"evidence": "证明"}),
        (f"/records/{record_id}/repair/decide", {"decision": "approved", "reason": "同意"}),
        (f"/blacklist/{firm.uscc}/propose", {"reason": "理由"}),
        (f"/blacklist/{firm.uscc}/approve", {"authority": "局", "document_no": "1"}),
        ("/snapshots", {}),
    ]


ENDPOINT_NAMES = [
    "record",
    "objection",
    "objection-resolve",
    "repair",
    "repair-decide",
    "blacklist-propose",
    "blacklist-approve",
    "snapshot",
]


@pytest.mark.parametrize("index", range(8), ids=ENDPOINT_NAMES)
def test_wrong_role_is_403_and_writes_nothing(client, firm, pending_record, inspector, index):
    path, body = _endpoints(firm, pending_record.id)[index]
    before = row_counts()

    response = post(client, inspector, path, body)

    assert (response.status_code, response.json()["code"]) == (403, "forbidden_role")
    assert row_counts() == before


@pytest.mark.parametrize("index", range(8), ids=ENDPOINT_NAMES)
def test_no_token_is_401_and_writes_nothing(client, firm, pending_record, index):
    path, body = _endpoints(firm, pending_record.id)[index]
    before = row_counts()

    response = client.post(BASE + path, body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert row_counts() == before


@pytest.mark.parametrize("index", range(7), ids=ENDPOINT_NAMES[:7])
def test_other_region_is_404_and_writes_nothing(
    client, firm, pending_record, other_region_reviewer, index
):
    path, body = _endpoints(firm, pending_record.id)[index]
    before = row_counts()

    response = post(client, other_region_reviewer, path, body)

    assert response.status_code == 404
    assert response.json()["code"] in {"unknown_enterprise", "unknown_record"}
    assert row_counts() == before


@pytest.mark.parametrize("index", range(7), ids=ENDPOINT_NAMES[:7])
def test_unknown_ids_are_404_and_write_nothing(client, firm, pending_record, reviewer, index):
    unknown_firm = type(firm)(uscc=make_uscc(region_code="150100", serial=424242))
    path, body = _endpoints(unknown_firm, pending_record.id + 1000)[index]
    before = row_counts()

    response = post(client, reviewer, path, body)

    assert response.status_code == 404
    assert response.json()["code"] in {"unknown_enterprise", "unknown_record"}
    assert row_counts() == before


MALFORMED = [
    ("/records", {"uscc": "X", "rule_code": "FEE-UNLISTED", "decided_at": "2025-03-05"}),
    ("/records", {"rule_code": "FEE-UNLISTED", "decided_at": "not-a-date"}),
    ("/records", "bad-uscc-check"),
    ("/records", "unknown-rule"),
    ("/records", "future"),
    ("/records", "award-as-penalty"),
    ("/records/{id}/objection", {"grounds": ""}),
    ("/records/{id}/objection/resolve", {"decision": "maybe", "reason": "x"}),
    ("/records/{id}/repair", {}),
    ("/records/{id}/repair/decide", {"decision": "ok", "reason": "x"}),
    ("/blacklist/{uscc}/propose", {"reason": ""}),
    ("/blacklist/{uscc}/approve", {"authority": "局"}),
    ("/blacklist/NOT-A-CODE/propose", {"reason": "理由"}),
]


@pytest.mark.parametrize("path, body", MALFORMED)
def test_malformed_input_is_422_and_writes_nothing(
    client, firm, pending_record, reviewer, path, body
):
    wrong_check = firm.uscc[:-1] + ("0" if firm.uscc[-1] != "0" else "1")
    named = {
        "bad-uscc-check": record_body(wrong_check),
        "unknown-rule": record_body(firm.uscc, rule_code="NO-SUCH-RULE"),
        "future": record_body(firm.uscc, decided_at="2099-01-01"),
        "award-as-penalty": record_body(firm.uscc, rule_code="DEMO-NATIONAL", source="penalty"),
    }
    body = named.get(body, body) if isinstance(body, str) else body
    path = path.format(id=pending_record.id, uscc=firm.uscc)
    before = row_counts()

    response = post(client, reviewer, path, body)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert row_counts() == before


def test_records_stay_pending_after_a_refused_objection(client, firm, pending_record, inspector):
    post(client, inspector, f"/records/{pending_record.id}/objection", {"grounds": "x"})

    pending_record.refresh_from_db()
    assert pending_record.status == RecordStatus.PENDING
    assert Objection.objects.count() == 0
