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
from django.db import transaction
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
    payload = json.loads(_canonical(payload or {}))  # store exactly what was hashed
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
        seq = head.seq + 1
        # Microsecond precision survives every database we support, so the hash re-computes.
        at = timezone.now()
        digest = entry_hash(
            prev_hash=head.hash,
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            payload=payload,
        )
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            payload=payload,
            prev_hash=head.hash,
            hash=digest,
        )
        head.seq, head.hash = seq, digest
        head.save(update_fields=["seq", "hash"])
    return entry


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
