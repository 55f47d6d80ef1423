"""The hash-chained audit log: every credit-affecting action is appended here.

entry.hash = sha256(prev_hash + canonical JSON of the entry's fields). The single `AuditHead`
row is locked while appending, which serialises writers on PostgreSQL and SQLite alike.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from backend.models import AuditEntry, AuditHead

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    )


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: dict,
) -> str:
    body = _canonical(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def actor_name(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return SYSTEM_ACTOR
    return user.get_username()


def audit_append(
    *, actor: str, action: str, object_type: str, object_id: Any, payload: dict | None = None
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits or rolls back with the
    action it describes)."""
    item = AuditItem(action, object_type, object_id, payload or {})
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        (link,) = _linked(head, actor=actor, items=[item])
        entry = AuditEntry(**link.fields())
        entry.save(force_insert=True)
        head.save(update_fields=["seq", "hash"])
    return entry


@dataclass(frozen=True)
class AuditItem:
    """One entry for `audit_append_many`."""

    action: str
    object_type: str
    object_id: Any
    payload: dict


def audit_append_many(*, actor: str, items: list[AuditItem], batch_size: int = 2000) -> int:
    """Append many entries in order under one lock of the chain head, in the caller's
    transaction: the same chain `audit_append` builds entry by entry, without a round trip per
    entry (a bulk recompute may open thousands of blacklist proposals). Returns the count."""
    if not items:
        return 0
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        links = _linked(head, actor=actor, items=items)
        if connection.vendor == "postgresql":
            _copy_links(links)
        else:
            entries = [AuditEntry(**link.fields()) for link in links]
            AuditEntry.objects.bulk_create(entries, batch_size=batch_size)
        head.save(update_fields=["seq", "hash"])
    return len(links)


@dataclass(frozen=True)
class _Link:
    """One entry as it will be stored; `payload_text` is the canonical JSON that was hashed."""

    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    payload_text: str
    prev_hash: str
    hash: str

    def fields(self) -> dict:
        values = {name: getattr(self, name) for name in _COPIED_FIELDS}
        values["payload"] = json.loads(self.payload_text)
        return values


_COPIED_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "prev_hash", "hash")


def _linked(head: AuditHead, *, actor: str, items: list[AuditItem]) -> list[_Link]:
    """The entries that extend the chain from the locked `head`, hashed in order; moves the
    head (unsaved) to the last of them."""
    links = []
    for item in items:
        # What is stored must hash to the same value when read back: the payload goes through
        # one JSON round trip (dates become strings, integer keys text) before it is hashed.
        payload_text = _canonical(json.loads(_canonical(item.payload)))
        # Microsecond precision survives every database we support, so the hash re-computes.
        at = timezone.now()
        seq, object_id = head.seq + 1, str(item.object_id)
        digest = _hash_of_text(
            prev_hash=head.hash,
            seq=seq,
            at=at,
            actor=actor,
            action=item.action,
            object_type=item.object_type,
            object_id=object_id,
            payload_text=payload_text,
        )
        links.append(
            _Link(
                seq=seq,
                at=at,
                actor=actor,
                action=item.action,
                object_type=item.object_type,
                object_id=object_id,
                payload_text=payload_text,
                prev_hash=head.hash,
                hash=digest,
            )
        )
        head.seq, head.hash = seq, digest
    return links


def _hash_of_text(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    payload_text: str,
) -> str:
    """`entry_hash` with the payload already in canonical JSON: the entry's canonical JSON is
    put together around it instead of encoding the payload a second time (keys in sorted order,
    as `_canonical` writes them; a property test holds the two equal)."""
    text = json.dumps
    body = (
        f'{{"action":{text(action, ensure_ascii=False)},"actor":{text(actor, ensure_ascii=False)},'
        f'"at":"{at.isoformat(timespec="microseconds")}",'
        f'"object_id":{text(object_id, ensure_ascii=False)},'
        f'"object_type":{text(object_type, ensure_ascii=False)},'
        f'"payload":{payload_text},"seq":{int(seq)}}}'
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def _copy_links(links: list[_Link]) -> None:
    """COPY the entries in (PostgreSQL): no model instance, no SQL text per row; the server
    parses each payload into `jsonb`."""
    columns = ", ".join(connection.ops.quote_name(name) for name in (*_COPIED_FIELDS, "payload"))
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for link in links:
            copy.write_row((*(getattr(link, name) for name in _COPIED_FIELDS), link.payload_text))


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_audit_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Walk the chain in order; report the first entry that is missing, edited or re-linked."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=batch_size):
        if entry.seq != expected_seq:
            return ChainVerification(False, checked, expected_seq, "entry missing (gap in seq)")
        if entry.prev_hash != prev_hash:
            return ChainVerification(False, checked, entry.seq, "prev_hash does not link")
        recomputed = entry_hash(
            prev_hash=prev_hash,
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            payload=entry.payload,
        )
        if recomputed != entry.hash:
            return ChainVerification(False, checked, entry.seq, "content does not match hash")
        prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if head_seq != checked or head_hash != prev_hash:
        return ChainVerification(False, checked, checked + 1, "entries cut off the end")
    return ChainVerification(True, checked)
