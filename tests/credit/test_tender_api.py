"""The signed tender API as the tender platform calls it (CONTRACTS.md)."""

import json
import time

import pytest

from backend.models import AuditEntry
from credit.models import TenderCall
from credit.services import backbone_designate, blacklist_approve, blacklist_propose
from credit.signing import canonical_query, signed_headers
from credit.tender_auth import tender_client_create
from credit.tender_calls import tender_calls_flush
from credit.validators import make_uscc
from tests.credit.conftest import new_record, publish, rescore
from tests.factories import EnterpriseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tender_client():
    return tender_client_create(name="自治区公共资源交易平台")


def call(client, credentials, method, path, query="", body=b"", **sign_kwargs):
    tender, secret = credentials
    headers = signed_headers(
        client_id=tender.client_id,
        secret=secret,
        method=method,
        path=path,
        query_string=query,
        body=body,
        **sign_kwargs,
    )
    url = f"{path}?{query}" if query else path
    if method == "POST":
        return client.post(url, body, content_type="application/json", headers=headers)
    return client.get(url, headers=headers)


def terms(client, credentials, uscc, query="project_area_m2=120000&project_type=residential"):
    path = f"/api/tender/v1/enterprises/{uscc}/tender-terms"
    return call(client, credentials, "GET", path, query)


def test_backbone_aa_firm_bidding_for_120000_m2_gets_4_points_and_half_the_deposit(
    client, firm, reviewer, clock, no_window, tender_client
):
    new_record(firm, "DEMO-REGION", reviewer, source="award")  # 100 + 6 = 106: AA
    backbone_designate(enterprise=firm, document_no="呼房骨〔2025〕2号", actor=reviewer)
    rescore(firm)
    snapshot = publish()

    response = terms(client, tender_client, firm.uscc)

    assert response.status_code == 200
    body = response.json()
    assert (body["eligible"], body["bonus_points"], body["deposit_reduction_ratio"]) == (
        True,
        4.0,
        0.5,
    )
    assert [(r["code"], r.get("points"), r.get("ratio")) for r in body["reasons"]] == [
        ("grade", 2.0, None),
        ("backbone_points", 2.0, None),
        ("backbone_deposit_reduction", None, 0.5),
    ]
    assert body["snapshot"]["sha256"] == snapshot.sha256


def test_a_small_project_earns_only_the_grade_points(
    client, firm, reviewer, clock, no_window, tender_client
):
    new_record(firm, "DEMO-REGION", reviewer, source="award")
    backbone_designate(enterprise=firm, document_no="2号", actor=reviewer)
    publish()

    body = terms(client, tender_client, firm.uscc, "project_area_m2=99999").json()

    assert (body["bonus_points"], body["deposit_reduction_ratio"]) == (2.0, 0.0)


def test_a_blacklisted_firm_is_not_eligible(
    client, firm, reviewer, second_reviewer, clock, no_window, tender_client
):
    new_record(firm, "ABANDON", reviewer)
    rescore(firm)
    blacklist_propose(enterprise=firm, reason="弃管", actor=reviewer)
    blacklist_approve(
        enterprise=firm, authority="住建局", document_no="黑1号", actor=second_reviewer
    )
    publish()

    body = terms(client, tender_client, firm.uscc).json()
    lookup = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{firm.uscc}").json()

    assert (body["eligible"], body["bonus_points"], body["deposit_reduction_ratio"]) == (
        False,
        0.0,
        0.0,
    )
    assert [r["code"] for r in body["reasons"]] == ["blacklisted"]
    assert (lookup["blacklisted"], lookup["blacklist_reason"], lookup["grade"]) == (
        True,
        "弃管",
        "C",
    )


def test_enterprise_lookup_answers_from_the_latest_snapshot_only(
    client, firm, reviewer, clock, no_window, tender_client
):
    first = publish()
    new_record(firm, "FEE-UNLISTED", reviewer)  # not yet published
    before = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{firm.uscc}").json()
    second = publish()
    after = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{firm.uscc}").json()

    assert (before["score"], before["grade"], before["snapshot"]["id"]) == (100.0, "A", first.id)
    assert after == {
        "uscc": firm.uscc,
        "name": firm.name,
        "grade": "A",
        "score": 90.0,
        "rule_score": 90.0,
        "model_adjustment": 0.0,
        "blacklisted": False,
        "blacklist_reason": "",
        "snapshot": {
            "id": second.id,
            "published_at": after["snapshot"]["published_at"],
            "sha256": second.sha256,
        },
    }


def test_an_invalid_check_character_is_422(client, firm, tender_client):
    publish()
    wrong = firm.uscc[:-1] + ("0" if firm.uscc[-1] != "0" else "1")

    response = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{wrong}")

    assert (response.status_code, response.json()["code"]) == (422, "invalid_uscc")
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_enterprise_is_404(client, firm, tender_client):
    publish()
    unknown = make_uscc(region_code="150100", serial=987654)

    response = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{unknown}")

    assert (response.status_code, response.json()["code"]) == (404, "unknown_enterprise")


def test_a_replayed_nonce_is_401(client, firm, tender_client):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    tender, secret = tender_client
    headers = signed_headers(client_id=tender.client_id, secret=secret, method="GET", path=path)

    first = client.get(path, headers=headers)
    replay = client.get(path, headers=headers)

    assert first.status_code == 200
    assert (replay.status_code, replay.json()["code"]) == (401, "replayed_request")


def test_a_ten_minute_old_timestamp_is_401_and_records_no_nonce(client, firm, tender_client):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"

    response = call(client, tender_client, "GET", path, timestamp=int(time.time()) - 600)

    assert (response.status_code, response.json()["code"]) == (401, "stale_request")
    tender_calls_flush()
    assert TenderCall.objects.count() == 0


def test_a_bad_signature_is_401(client, firm, tender_client):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"
    tender, _ = tender_client

    response = call(client, (tender, "not-the-secret"), "GET", path)

    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def test_a_signature_over_another_path_is_401(client, firm, tender_client):
    publish()
    tender, secret = tender_client
    other_path = "/api/tender/v1/snapshots/latest"
    headers = signed_headers(
        client_id=tender.client_id, secret=secret, method="GET", path=other_path
    )

    response = client.get(f"/api/tender/v1/enterprises/{firm.uscc}", headers=headers)

    assert (response.status_code, response.json()["code"]) == (401, "bad_signature")


def test_unsigned_requests_are_401(client, firm):
    response = client.get(f"/api/tender/v1/enterprises/{firm.uscc}")

    assert (response.status_code, response.json()["code"]) == (401, "missing_signature")


def test_query_is_signed_with_parameters_sorted_by_name():
    assert canonical_query("project_type=office&project_area_m2=5") == (
        "project_area_m2=5&project_type=office"
    )
    assert canonical_query("") == ""


def test_query_order_does_not_matter_to_the_signature(client, firm, tender_client):
    publish()
    path = f"/api/tender/v1/enterprises/{firm.uscc}/tender-terms"
    tender, secret = tender_client
    headers = signed_headers(
        client_id=tender.client_id,
        secret=secret,
        method="GET",
        path=path,
        query_string="project_area_m2=1&project_type=office",
    )

    response = client.get(f"{path}?project_type=office&project_area_m2=1", headers=headers)

    assert response.status_code == 200


def test_batch_answers_each_code_with_errors_per_item(client, firm, tender_client):
    publish()
    unknown = make_uscc(region_code="150100", serial=555555)
    body = json.dumps({"usccs": [firm.uscc, "91150100BAD", unknown]}).encode()

    response = call(client, tender_client, "POST", "/api/tender/v1/enterprises/batch", body=body)

    items = response.json()
    assert response.status_code == 200
    assert [i["uscc"] for i in items] == [firm.uscc, "91150100BAD", unknown]
    assert items[0]["grade"] == "A" and "error" not in items[0]
    assert [i.get("error", {}).get("code") for i in items] == [
        None,
        "invalid_uscc",
        "unknown_enterprise",
    ]


def test_batch_of_more_than_500_is_422(client, tender_client):
    publish()
    body = json.dumps({"usccs": ["x"] * 501}).encode()

    response = call(client, tender_client, "POST", "/api/tender/v1/enterprises/batch", body=body)

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


def test_snapshot_latest_and_changes_since_an_older_one(
    client, firm, reviewer, clock, no_window, tender_client
):
    quiet = EnterpriseFactory()
    older = publish()
    new_record(firm, "FEE-UNLISTED", reviewer)
    new_record(firm, "FEE-UNLISTED", reviewer)  # 80: A → B
    new_record(quiet, "SANITATION", reviewer)  # 98: still A
    newer = publish()

    latest = call(client, tender_client, "GET", "/api/tender/v1/snapshots/latest").json()
    changes = call(
        client,
        tender_client,
        "GET",
        f"/api/tender/v1/snapshots/{newer.id}/changes",
        f"since={older.id}",
    ).json()

    assert (latest["id"], latest["sha256"], latest["enterprises"]) == (newer.id, newer.sha256, 2)
    assert changes["changes"] == [
        {
            "uscc": firm.uscc,
            "name": firm.name,
            "before": {"grade": "A", "eligible": True, "blacklisted": False},
            "after": {"grade": "B", "eligible": True, "blacklisted": False},
        }
    ]


def test_changes_since_a_newer_or_unknown_snapshot_are_refused(client, firm, tender_client):
    older, newer = publish(), publish()

    backwards = call(
        client,
        tender_client,
        "GET",
        f"/api/tender/v1/snapshots/{older.id}/changes",
        f"since={newer.id}",
    )
    unknown = call(
        client,
        tender_client,
        "GET",
        f"/api/tender/v1/snapshots/{newer.id + 99}/changes",
        f"since={older.id}",
    )

    assert (backwards.status_code, backwards.json()["code"]) == (422, "since_not_older")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_snapshot")


def test_each_call_is_recorded_as_a_tender_lookup_outside_the_hash_chain(
    client, firm, tender_client
):
    snapshot = publish()
    tender, _ = tender_client
    chained_before = AuditEntry.objects.count()
    path = f"/api/tender/v1/enterprises/{firm.uscc}"

    call(client, tender_client, "GET", path)
    call(client, tender_client, "GET", "/api/tender/v1/enterprises/91150100BAD")
    tender_calls_flush()  # with Redis the calls wait in its queue until the worker stores them

    calls = list(
        TenderCall.objects.order_by("id").values_list(
            "client_id", "action", "path", "status", "snapshot_id"
        )
    )
    assert calls == [
        (tender.id, "tender.lookup", path, 200, snapshot.id),
        (tender.id, "tender.lookup", "/api/tender/v1/enterprises/91150100BAD", 422, None),
    ]
    assert AuditEntry.objects.count() == chained_before


def test_without_a_snapshot_lookups_are_404_no_snapshot(client, firm, tender_client):
    response = call(client, tender_client, "GET", f"/api/tender/v1/enterprises/{firm.uscc}")

    assert (response.status_code, response.json()["code"]) == (404, "no_snapshot")


def test_trademark_record_gives_the_appropriate_benefit_once(
    client, firm, reviewer, clock, no_window, tender_client
):
    new_record(firm, "TRADEMARK-NATIONAL", reviewer, source="award")
    new_record(firm, "STANDARDIZATION-PILOT", reviewer, source="award")
    publish()  # 100 + 8 = 108: AA

    body = terms(client, tender_client, firm.uscc, "project_area_m2=1000").json()

    assert (body["bonus_points"], body["deposit_reduction_ratio"]) == (3.0, 0.2)


def test_openapi_documents_the_signing_scheme(client):
    description = client.get("/api/tender/v1/openapi.json").json()["info"]["description"]

    assert "METHOD\\nPATH\\nQUERY\\nTIMESTAMP\\nNONCE\\nSHA256_HEX(BODY)" in description
    assert "/api/tender/v1/enterprises/" in description
