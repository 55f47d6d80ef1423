from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.audit import (
    AuditItem,
    ChainVerification,
    _canonical,
    _hash_of_text,
    audit_append,
    audit_append_many,
    entry_hash,
    verify_audit_chain,
)
from backend.models import AuditEntry, AuditHead

pytestmark = pytest.mark.django_db


def _append_three() -> list[AuditEntry]:
    return [
        audit_append(
            actor="alice",
            action="record.create",
            object_type="record",
            object_id=1,
            payload={"points": 10},
        ),
        audit_append(
            actor="bob",
            action="objection.resolve",
            object_type="record",
            object_id=1,
            payload={"upheld": True},
        ),
        audit_append(
            actor="system",
            action="snapshot.publish",
            object_type="snapshot",
            object_id=7,
            payload={},
        ),
    ]


def test_appended_entries_form_an_intact_chain():
    entries = _append_three()

    result = verify_audit_chain()

    assert result.ok and result.checked == 3
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash
    assert AuditHead.objects.get().hash == entries[2].hash


def test_many_entries_appended_at_once_continue_the_same_chain_in_order():
    first = audit_append(actor="alice", action="a", object_type="record", object_id=1)
    items = [
        AuditItem(action=f"bulk.{n}", object_type="blacklist_entry", object_id=n, payload={})
        for n in range(3)
    ]
    items.append(
        AuditItem(
            action="bulk.dated", object_type="x", object_id=9, payload={"on": date(2025, 3, 5)}
        )
    )

    count = audit_append_many(actor="system", items=items)
    last = audit_append(actor="bob", action="b", object_type="record", object_id=2)

    entries = list(AuditEntry.objects.order_by("seq"))
    assert count == 4
    assert [e.action for e in entries] == ["a", "bulk.0", "bulk.1", "bulk.2", "bulk.dated", "b"]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[1].prev_hash == first.hash and last.prev_hash == entries[4].hash
    assert entries[4].payload == {"on": "2025-03-05"}  # stored exactly as hashed
    assert verify_audit_chain().ok


def test_bulk_entries_with_awkward_payloads_read_back_and_verify():
    # Integer keys, text that needs escaping, Chinese, decimals, nesting, a datetime: each is
    # stored as the JSON that was hashed, so the chain verifies when read back.
    payloads = [
        {2: "b", 10: "a"},
        {"quote": '"\\/\n\t', "名称": "呼和浩特市某物业服务有限公司"},
        {"points": Decimal("2.50"), "nested": {"z": [1, {"y": None}], "a": True}},
        {"at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "ratio": 0.1},
    ]
    items = [AuditItem("bulk", "x", n, payload) for n, payload in enumerate(payloads)]

    audit_append_many(actor="系统", items=items)

    stored = list(AuditEntry.objects.order_by("seq"))
    assert stored[0].payload == {"2": "b", "10": "a"}
    assert stored[1].payload["名称"] == "呼和浩特市某物业服务有限公司"
    assert stored[2].payload["points"] == "2.50" and stored[3].payload["ratio"] == 0.1
    assert all(entry.actor == "系统" for entry in stored)
    assert verify_audit_chain() == ChainVerification(ok=True, checked=4)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=300)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    at=st.datetimes(timezones=st.just(UTC)),
    actor=texts,
    action=texts,
    object_type=texts,
    object_id=texts,
    payload=st.dictionaries(st.text(max_size=5), json_values, max_size=4),
)
def test_hash_from_canonical_payload_text_equals_the_entry_hash(
    seq, at, actor, action, object_type, object_id, payload
):
    fields = {
        "prev_hash": "a" * 64,
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
    }

    assert _hash_of_text(**fields, payload_text=_canonical(payload)) == entry_hash(
        **fields, payload=payload
    )


def test_appending_no_entries_leaves_the_chain_alone():
    assert audit_append_many(actor="system", items=[]) == 0
    assert not AuditHead.objects.exists() or AuditHead.objects.get().seq == 0


def test_an_edited_payload_breaks_the_chain_at_that_entry():
    _append_three()
    AuditEntry.objects.filter(seq=2).update(payload={"upheld": False})

    result = verify_audit_chain()

    assert not result.ok
    assert (result.first_bad_seq, result.problem) == (2, "content does not match hash")


def test_an_edited_actor_with_recomputed_hash_still_breaks_the_link_to_the_next_entry():
    _append_three()
    # A forger who rewrites entry 2 and its hash cannot also fix entry 3's prev_hash without
    # rewriting the rest of the chain.
    AuditEntry.objects.filter(seq=2).update(actor="mallory", hash="f" * 64)

    result = verify_audit_chain()

    assert not result.ok and result.first_bad_seq == 2


def test_a_deleted_middle_entry_is_detected():
    _append_three()
    AuditEntry.objects.filter(seq=2).delete()

    result = verify_audit_chain()

    assert not result.ok
    assert (result.first_bad_seq, result.problem) == (2, "entry missing (gap in seq)")


def test_a_deleted_last_entry_is_detected_through_the_head():
    _append_three()
    AuditEntry.objects.filter(seq=3).delete()

    result = verify_audit_chain()

    assert not result.ok and result.problem == "entries cut off the end"


def test_verify_command_succeeds_on_intact_chain_and_fails_on_tampering(capsys):
    _append_three()
    call_command("verify_audit_chain")
    assert "3 entries" in capsys.readouterr().out

    AuditEntry.objects.filter(seq=1).update(action="record.delete")
    with pytest.raises(CommandError, match="seq 1"):
        call_command("verify_audit_chain")


def test_an_entry_appended_in_a_rolled_back_transaction_leaves_no_trace():
    from django.db import transaction

    audit_append(actor="a", action="x", object_type="t", object_id=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_append(actor="a", action="y", object_type="t", object_id=2)
        raise RuntimeError("rollback")
    audit_append(actor="a", action="z", object_type="t", object_id=3)

    assert list(AuditEntry.objects.values_list("seq", "action")) == [(1, "x"), (2, "z")]
    assert verify_audit_chain().ok


def test_daily_task_records_the_heartbeat_only_when_the_chain_is_intact():
    from backend.models import WorkerHeartbeat
    from backend.tasks import verify_audit_chain_task

    _append_three()
    assert verify_audit_chain_task() is True
    assert WorkerHeartbeat.objects.get(name="audit-chain").beats == 1

    AuditEntry.objects.filter(seq=3).update(actor="mallory")
    assert verify_audit_chain_task() is False
    assert WorkerHeartbeat.objects.get(name="audit-chain").beats == 1
