"""Publishing snapshots: every enterprise's score, grade, blacklist status and tender inputs,
frozen and hashed. Public pages and the tender API read nothing else.

The hash is sha256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the snapshot
content: {"as_of", "rulebook_version", "rulebook_sha256", "model_version", "entries": [...]},
entries sorted by USCC. `/credit/open-data/latest.json` serves exactly those bytes, so
`sha256sum latest.json` reproduces the published hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from backend.audit import actor_name, audit_append
from credit.models import (
    BackboneDesignation,
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
    RecordStatus,
    Snapshot,
    SnapshotEntry,
)
from credit.score_inputs import (
    RECORD_FIELDS,
    counted_fingerprint,
    reason_json,
    record_input,
    risk_input,
)
from credit.scoring import ScoreBreakdown, score_enterprise
from credit.selectors import ActiveRulebook, active_rulebook, clear_snapshot_caches
from credit.stats.grades import grade_counts_store
from credit.workdays import today_local

logger = logging.getLogger(__name__)

ENTRY_BATCH = 2000
PUBLIC_RECORD_FIELDS = (
    "id",
    "rule_code",
    "title_zh",
    "title_en",
    "kind",
    "severity",
    "points",
    "decided_at",
    "effective_from",
    "effective_until",
    "document_no",
)


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def entry_document(entry: SnapshotEntry) -> dict:
    """The canonical form of one entry (what the hash covers)."""
    return {
        "uscc": entry.uscc,
        "name": entry.name,
        "region_code": entry.region_code,
        "grade": entry.grade,
        "score": _money(entry.score),
        "rule_score": _money(entry.rule_score),
        "model_adjustment": _money(entry.model_adjustment),
        "blacklisted": entry.blacklisted,
        "blacklist_reason": entry.blacklist_reason,
        "blacklist_since": _day(entry.blacklist_since),
        "is_backbone": entry.is_backbone,
        "has_effective_serious": entry.has_effective_serious,
        "tender_benefit_codes": entry.tender_benefit_codes,
        "reasons": entry.reasons,
        "records": entry.records,
    }


def content_chunks(meta: dict, entries: Iterable[dict]) -> Iterator[str]:
    """Canonical JSON of the snapshot content, piece by piece (a quarter of a million entries
    need not sit in one string). Keys in sorted order: as_of, entries, model_version, …"""
    yield '{"as_of":' + canonical_json(meta["as_of"]) + ',"entries":['
    for index, entry in enumerate(entries):
        yield ("," if index else "") + canonical_json(entry)
    yield "]"
    for key in ("model_version", "rulebook_sha256", "rulebook_version"):
        yield f",{canonical_json(key)}:{canonical_json(meta[key])}"
    yield "}"


def snapshot_meta(snapshot: Snapshot) -> dict:
    return {
        "as_of": snapshot.as_of.isoformat(),
        "model_version": snapshot.model_version,
        "rulebook_sha256": snapshot.rulebook_sha256,
        "rulebook_version": snapshot.rulebook_version,
    }


def snapshot_content_chunks(snapshot: Snapshot) -> Iterator[str]:
    entries = (
        entry_document(e)
        for e in SnapshotEntry.objects.filter(snapshot=snapshot)
        .order_by("uscc")
        .iterator(chunk_size=ENTRY_BATCH)
    )
    return content_chunks(snapshot_meta(snapshot), entries)


def _public_record(record: CreditRecord) -> dict:
    return {
        "id": record.id,
        "rule_code": record.rule_code,
        "title_zh": record.title_zh,
        "title_en": record.title_en,
        "kind": record.kind,
        "severity": record.severity,
        "points": _money(record.points),
        "decided_at": _day(record.decided_at),
        "effective_from": _day(record.effective_from),
        "effective_until": _day(record.effective_until),
        "document_no": record.document_no,
    }


def _blacklist_on(as_of: date) -> dict[int, BlacklistEntry]:
    entries = BlacklistEntry.objects.filter(
        status__in=[BlacklistStatus.ACTIVE, BlacklistStatus.EXITED], entry_date__lte=as_of
    ).filter(Q(exit_date__isnull=True) | Q(exit_date__gt=as_of))
    return {e.enterprise_id: e for e in entries}


def _backbone_on(as_of: date) -> set[int]:
    return set(
        BackboneDesignation.objects.filter(designated_on__lte=as_of)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
        .values_list("enterprise_id", flat=True)
    )


@dataclass(frozen=True)
class _Standing:
    """What a snapshot entry says of a firm's score: the stored row's columns, or the same
    columns of the per-firm breakdown for a firm whose stored row is behind the cut."""

    grade: str
    score: Decimal
    rule_score: Decimal
    model_adjustment: Decimal
    has_effective_serious: bool
    tender_benefit_codes: list
    reasons: list
    model_version: str

    @classmethod
    def of_stored(cls, row: EnterpriseScore) -> _Standing:
        return cls(
            grade=row.grade,
            score=row.score,
            rule_score=row.rule_score,
            model_adjustment=row.model_adjustment,
            has_effective_serious=row.has_effective_serious,
            tender_benefit_codes=list(row.tender_benefit_codes),
            reasons=list(row.reasons),
            model_version=row.model_version,
        )

    @classmethod
    def of_breakdown(cls, breakdown: ScoreBreakdown) -> _Standing:
        return cls(
            grade=breakdown.grade,
            score=breakdown.final_score,
            rule_score=breakdown.rule_score,
            model_adjustment=breakdown.model_adjustment,
            has_effective_serious=breakdown.has_effective_serious,
            tender_benefit_codes=list(breakdown.tender_benefit_codes),
            reasons=[reason_json(r) for r in breakdown.reasons],
            model_version=breakdown.model_version or "",
        )


def _entry(
    enterprise: Enterprise,
    standing: _Standing,
    counted: list[CreditRecord],
    blacklist: BlacklistEntry | None,
    is_backbone: bool,
) -> SnapshotEntry:
    shown = sorted(counted, key=lambda r: (r.effective_from, r.id), reverse=True)
    return SnapshotEntry(
        enterprise_id=enterprise.id,
        uscc=enterprise.uscc,
        name=enterprise.name,
        region_code=enterprise.region_id,
        grade=standing.grade,
        score=standing.score,
        rule_score=standing.rule_score,
        model_adjustment=standing.model_adjustment,
        blacklisted=blacklist is not None,
        blacklist_reason=blacklist.entry_reason if blacklist else "",
        blacklist_since=blacklist.entry_date if blacklist else None,
        is_backbone=is_backbone and blacklist is None,
        has_effective_serious=standing.has_effective_serious,
        tender_benefit_codes=standing.tender_benefit_codes,
        reasons=standing.reasons,
        records=[_public_record(r) for r in shown],
    )


def _counted_records(as_of: date) -> dict[int, list[CreditRecord]]:
    """Every firm's records that count on `as_of` (`credit.scoring.record_count_reason`'s rule,
    applied by the database), each firm's in the order `recompute_enterprise` scores them
    (CreditRecord's ordering): the reasons list the records in that order."""
    by_firm: dict[int, list[CreditRecord]] = defaultdict(list)
    fields = set(RECORD_FIELDS) | set(PUBLIC_RECORD_FIELDS) | {"enterprise_id"}
    counting = (
        CreditRecord.objects.exclude(status=RecordStatus.PENDING)
        .filter(effective_from__lte=as_of, effective_until__gt=as_of)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
        .only(*fields)
        .order_by(*CreditRecord._meta.ordering)
    )
    for record in counting.iterator(chunk_size=ENTRY_BATCH):
        by_firm[record.enterprise_id].append(record)
    return by_firm


def _stored_row_is_current(
    row: EnterpriseScore | None, counted: list[CreditRecord], *, rulebook_version: str, model: str
) -> bool:
    """Whether the stored row tells the score of exactly these counted records under this
    rulebook and model. Every change that moves a score flags the row dirty in the change's
    own transaction, so inside the publication's cut a clean row with the same counted set
    (its fingerprint), rulebook and model version is the firm's score on the day."""
    return (
        row is not None
        and not row.dirty
        and row.grade != ""
        and row.rulebook_version == rulebook_version
        and row.model_version == model
        and row.counted_fingerprint == counted_fingerprint(r.id for r in counted)
    )


def _entries(as_of: date, active: ActiveRulebook) -> tuple[list[SnapshotEntry], set[str], int]:
    """(entries in USCC order, the model versions they used, how many firms were scored in
    the cut because their stored row was behind it)."""
    counted = _counted_records(as_of)
    stored = {row.enterprise_id: row for row in EnterpriseScore.objects.all()}
    risks = {r.enterprise_id: r for r in EnterpriseRisk.objects.all()}
    blacklist = _blacklist_on(as_of)
    backbone = _backbone_on(as_of)
    entries, model_versions, behind = [], set(), 0
    for enterprise in Enterprise.objects.only("id", "uscc", "name", "region_id").order_by("uscc"):
        records = counted.get(enterprise.id, [])
        risk = risks.get(enterprise.id)
        row = stored.get(enterprise.id)
        model = risk.model_version if risk is not None else ""
        if _stored_row_is_current(row, records, rulebook_version=active.version, model=model):
            standing = _Standing.of_stored(row)
        else:
            # Behind the cut (flagged, or the day moved its counted set): the per-firm core
            # recompute_enterprise stores, on the records of the cut.
            behind += 1
            standing = _Standing.of_breakdown(
                score_enterprise(
                    records=[record_input(r) for r in records],
                    rulebook=active.rulebook,
                    as_of=as_of,
                    risk=risk_input(risk),
                )
            )
        if standing.model_version:
            model_versions.add(standing.model_version)
        entries.append(
            _entry(
                enterprise,
                standing,
                records,
                blacklist.get(enterprise.id),
                enterprise.id in backbone,
            )
        )
    return entries, model_versions, behind


@dataclass(frozen=True)
class _FrozenContent:
    """What a snapshot says, read at one moment; the hash covers exactly this."""

    as_of: date
    rulebook_version: str
    rulebook_sha256: str
    model_version: str
    entries: list[SnapshotEntry]
    sha256: str
    scored_in_cut: int  # firms whose stored row was behind the cut


def snapshot_publish(*, actor: AbstractBaseUser | None, as_of: date | None = None) -> Snapshot:
    """Freeze every enterprise as of `as_of` (default today) into a new snapshot.

    A published score has one path: the stored `EnterpriseScore` row, copied as it is. A row
    behind the cut (flagged dirty by a change the sweeper has not reached yet, or whose counted
    records differ on `as_of`: a day passed, a back-filled day) is scored in the cut by
    `score_enterprise` on the cut's records and risk, the very breakdown `recompute_enterprise`
    stores for it next. The daily run publishes at 02:00, after the nightly risk run's full
    recompute (01:00), so nearly every row is copied.

    On PostgreSQL everything the snapshot says is read in one REPEATABLE READ, read-only
    transaction, so it is a consistent cut even while records are being written; the snapshot,
    its entries and its audit entry are then written together in a second transaction. They
    cannot be written in the first: every audited write moves the audit chain's head row, and
    REPEATABLE READ refuses to lock a row changed after its snapshot began ("could not
    serialize access due to concurrent update"), so publishing failed whenever any record,
    objection or decision was saved while it ran (tests/faults/test_snapshot_consistency.py).
    Inside a caller's transaction (tests, seeding) that transaction's isolation applies to
    both steps. `as_of` in the past back-fills history (seeding): records, blacklist and
    backbone status are evaluated on that day.
    """
    as_of = as_of or today_local()
    isolate = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if isolate:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        content = _freeze(as_of)
    with transaction.atomic():
        return _store(content, actor=actor)


def _freeze(as_of: date) -> _FrozenContent:
    active = active_rulebook()
    entries, model_versions, behind = _entries(as_of, active)
    meta = {
        "as_of": as_of.isoformat(),
        "model_version": ",".join(sorted(model_versions)),
        "rulebook_sha256": active.rulebook.sha256,
        "rulebook_version": active.version,
    }
    digest = hashlib.sha256()
    for chunk in content_chunks(meta, (entry_document(e) for e in entries)):
        digest.update(chunk.encode("utf-8"))
    return _FrozenContent(
        as_of=as_of,
        rulebook_version=active.version,
        rulebook_sha256=active.rulebook.sha256,
        model_version=meta["model_version"],
        entries=entries,
        sha256=digest.hexdigest(),
        scored_in_cut=behind,
    )


def _store(content: _FrozenContent, *, actor: AbstractBaseUser | None) -> Snapshot:
    snapshot = Snapshot(
        published_at=timezone.now(),
        as_of=content.as_of,
        sha256=content.sha256,
        rulebook_version=content.rulebook_version,
        rulebook_sha256=content.rulebook_sha256,
        model_version=content.model_version,
        enterprises=len(content.entries),
        published_by=actor_name(actor),
    )
    snapshot.save(force_insert=True)
    logger.info(
        "snapshot %s: %s firms, %s scored in the cut (stored row behind)",
        snapshot.id,
        snapshot.enterprises,
        content.scored_in_cut,
    )
    transaction.on_commit(clear_snapshot_caches)
    for entry in content.entries:
        entry.snapshot = snapshot
    SnapshotEntry.objects.bulk_create(content.entries, batch_size=ENTRY_BATCH)
    grade_counts_store(snapshot)
    audit_append(
        actor=actor_name(actor),
        action="credit.snapshot_published",
        object_type="snapshot",
        object_id=snapshot.id,
        payload={
            "sha256": snapshot.sha256,
            "as_of": content.as_of.isoformat(),
            "enterprises": snapshot.enterprises,
            "rulebook_version": snapshot.rulebook_version,
            "model_version": snapshot.model_version,
        },
    )
    return snapshot
