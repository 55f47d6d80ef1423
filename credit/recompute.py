"""Keeping EnterpriseScore current: per-enterprise recompute (with reasons), the dirty sweeper,
the vectorised full recompute, and the record status clock (pending → effective → expired)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

import numpy as np
import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from psycopg import sql

from backend.audit import SYSTEM_ACTOR, AuditItem, audit_append, audit_append_many
from backend.queueing import enqueue_on_commit
from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
    Objection,
    RecordKind,
    RecordStatus,
)
from credit.rulebook import SEVERITIES, Rulebook

# score_enterprise's reason builders are shared on purpose: the bulk path writes the very same
# lines.
from credit.scoring import (
    DAY_NONE,
    SEVERITY_CODES,
    STATUS_CODES,
    BulkScores,
    Reason,
    RecordArrays,
    RecordInput,
    RiskInput,
    ScoreBreakdown,
    base_reason,
    blacklist_proposal_reason,
    bonus_cap_reason,
    bulk_score,
    counted_mask,
    date_to_day,
    grade_floor_reason,
    grade_index_for,
    grade_index_with_floor,
    model_adjustment_centi,
    model_reasons,
    record_reason,
    score_enterprise,
    to_centi,
)
from credit.selectors import ActiveRulebook, active_rulebook
from credit.services import AUTO_PROPOSAL_REASON, blacklist_follow_records, today_local

logger = logging.getLogger(__name__)

RECORD_FIELDS = (
    "id",
    "rule_code",
    "kind",
    "severity",
    "points",
    "effective_from",
    "effective_until",
    "status",
    "blacklist",
    "ended_on",
)
# Odd 64-bit multiplier (golden ratio) spreading record ids over the fingerprint space.
_FINGERPRINT_MULTIPLIER = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
DIRTY_BATCH = 500
# The scoring task stores an average line and two reasons of the riskiest compound; a score's
# explanation stays readable with at most this many model lines.
MODEL_REASONS_SHOWN = 3


def record_input(row: CreditRecord) -> RecordInput:
    return RecordInput(
        record_id=row.id,
        rule_code=row.rule_code,
        kind=row.kind,
        severity=row.severity or None,
        points=row.points,
        effective_from=row.effective_from,
        effective_until=row.effective_until,
        status=row.status,
        blacklist=row.blacklist,
        ended_on=row.ended_on,
    )


def risk_input(risk: EnterpriseRisk | None) -> RiskInput | None:
    """The stored estimate with its top reasons, which every published score shows beside the
    model's points (a JSON list of strings; anything else in it is not shown)."""
    if risk is None:
        return None
    return RiskInput(
        probability=risk.probability,
        population_mean=risk.population_mean,
        model_version=risk.model_version,
        reasons=risk_reasons(risk.reasons),
    )


def risk_reasons(stored: object) -> tuple[str, ...]:
    reasons = stored if isinstance(stored, list) else []
    return tuple(text for text in reasons if isinstance(text, str))[:MODEL_REASONS_SHOWN]


def reason_json(reason: Reason) -> dict:
    return {
        "code": reason.code,
        "text_zh": reason.text_zh,
        "text_en": reason.text_en,
        "points": None if reason.points is None else f"{reason.points:.2f}",
        "ratio": None if reason.ratio is None else f"{reason.ratio:.2f}",
    }


def counted_fingerprint(record_ids) -> int:
    """Order-free fingerprint of a set of record ids (sum of multiplied ids modulo 2**64, as a
    signed 64-bit number). The vectorised recompute computes the same value with numpy."""
    total = sum((int(i) * _FINGERPRINT_MULTIPLIER) & _MASK64 for i in record_ids) & _MASK64
    return total - (1 << 64) if total >= 1 << 63 else total


def _locked_score_row(enterprise_id: int) -> EnterpriseScore:
    row = EnterpriseScore.objects.select_for_update().filter(pk=enterprise_id).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            EnterpriseScore.objects.create(enterprise_id=enterprise_id)
    except IntegrityError:
        pass  # created concurrently
    return EnterpriseScore.objects.select_for_update().get(pk=enterprise_id)


def breakdown_for(
    *, enterprise_id: int, rulebook: Rulebook, as_of: date
) -> tuple[ScoreBreakdown, list[CreditRecord]]:
    rows = list(CreditRecord.objects.filter(enterprise_id=enterprise_id).only(*RECORD_FIELDS))
    risk = EnterpriseRisk.objects.filter(pk=enterprise_id).first()
    breakdown = score_enterprise(
        records=[record_input(r) for r in rows],
        rulebook=rulebook,
        as_of=as_of,
        risk=risk_input(risk),
    )
    return breakdown, rows


@transaction.atomic
def recompute_enterprise(
    *, enterprise_id: int, as_of: date | None = None
) -> EnterpriseScore | None:
    """Score one enterprise with reasons, follow the blacklist rules, clear its dirty flag.
    Holding the score row locks out concurrent flaggers until this commit (see
    credit.services.enterprise_mark_dirty). None when the enterprise does not exist."""
    enterprise = Enterprise.objects.filter(pk=enterprise_id).first()
    if enterprise is None:
        return None
    row = _locked_score_row(enterprise_id)
    as_of = as_of or today_local()
    active = active_rulebook()
    breakdown, _ = breakdown_for(enterprise_id=enterprise_id, rulebook=active.rulebook, as_of=as_of)
    row.blacklisted = blacklist_follow_records(
        enterprise=enterprise,
        proposal=breakdown.blacklist_proposal,
        basis_ids=list(breakdown.blacklist_record_ids),
        today=as_of,
    )
    row.rule_score = breakdown.rule_score
    row.model_adjustment = breakdown.model_adjustment
    row.score = breakdown.final_score
    row.grade = breakdown.grade
    row.blacklist_proposal = breakdown.blacklist_proposal
    row.has_effective_serious = breakdown.has_effective_serious
    row.tender_benefit_codes = list(breakdown.tender_benefit_codes)
    row.reasons = [reason_json(r) for r in breakdown.reasons]
    row.counted_fingerprint = counted_fingerprint(
        c.record_id for c in breakdown.contributions if c.counted
    )
    row.rulebook_version = active.version
    row.model_version = breakdown.model_version or ""
    row.as_of = as_of
    row.computed_at = timezone.now()
    row.dirty = False
    row.dirty_since = None
    row.save()
    return row


def recompute_dirty(*, limit: int = DIRTY_BATCH) -> int:
    """The sweeper: recompute flagged enterprises (oldest flag first) and enterprises never
    scored. Each in its own transaction, so one failure does not hold back the rest."""
    dirty = list(
        EnterpriseScore.objects.filter(dirty=True)
        .order_by("dirty_since")
        .values_list("enterprise_id", flat=True)[:limit]
    )
    unscored = list(
        Enterprise.objects.filter(credit_score__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[: max(limit - len(dirty), 0)]
    )
    done = 0
    for enterprise_id in dirty + unscored:
        try:
            recompute_enterprise(enterprise_id=enterprise_id)
        except Exception:  # logged and left dirty: the next sweep retries it
            logger.exception("recompute of enterprise %s failed", enterprise_id)
            continue
        done += 1
    return done


# --- the full recompute -------------------------------------------------------------------------
#
# recompute_all stores, for every enterprise whose outcome moved, exactly what recompute_enterprise
# stores, without a Python object per record or a transaction per firm (the province: 250,000
# firms, 5,000,000 records). On PostgreSQL:
# 1. the score rows' state is read with each row's xmin (the transaction that last wrote it)
#    BEFORE any record: a flagger updates the score row in the transaction that makes the change
#    (credit.services.enterprise_mark_dirty), so a change the later reads may have missed shows
#    as a moved xmin, and that row is left to the exact per-firm path;
# 2. record columns arrive as packed binary arrays (one aggregate row, no Python tuple per row);
# 3. bulk_score scores everyone; the stale firms' reasons are joined from JSON fragments made by
#    the reason builders of credit.scoring, cached (a fragment depends on the rule and points);
# 4. the stale rows are written in one transaction: COPY into a temporary table, one UPDATE (only
#    rows whose xmin has not moved) and one INSERT, then the rule-triggered blacklist proposals
#    of the firms written, with the audit entries blacklist_follow_records would append;
# 5. recompute_enterprise handles, one by one, what needs more: an open proposal or listing whose
#    basis ended (withdraw or exit), a row that moved under step 4.


@dataclass(frozen=True)
class RecomputeSummary:
    enterprises: int
    refreshed: int
    seconds: float


def recompute_all(*, as_of: date | None = None) -> RecomputeSummary:
    """Score every enterprise in one vectorised pass; store, with reasons, only the rows whose
    outcome or counted record set differ from what is stored; the rest only get their scoring
    day moved forward. Stores what recompute_enterprise would, firm for firm."""
    started = time.monotonic()
    as_of = as_of or today_local()
    active = active_rulebook()
    if connection.vendor != "postgresql":
        # A development SQLite database holds a handful of firms: the exact path is fast there.
        ids = list(Enterprise.objects.order_by("id").values_list("id", flat=True))
        for enterprise_id in ids:
            recompute_enterprise(enterprise_id=enterprise_id, as_of=as_of)
        return RecomputeSummary(len(ids), len(ids), round(time.monotonic() - started, 3))
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        refreshed, n, one_by_one = _bulk_recompute(cursor, active=active, as_of=as_of)
    for enterprise_id in one_by_one:
        recompute_enterprise(enterprise_id=enterprise_id, as_of=as_of)
    return RecomputeSummary(
        enterprises=n, refreshed=refreshed, seconds=round(time.monotonic() - started, 3)
    )


def _bulk_recompute(
    cursor: psycopg.Cursor, *, active: ActiveRulebook, as_of: date
) -> tuple[int, int, list[int]]:
    """(stale firms, firms, the firms left to recompute_enterprise)."""
    rulebook = active.rulebook
    firms = _firm_state(cursor, rulebook_version=active.version, rulebook=rulebook)
    records = _record_columns(cursor, firms.ids, rulebook)
    open_entries = _open_blacklist_entries(cursor, firms.ids)
    risk_mean = firms.usual_population_mean()
    other_mean = firms.has_risk & (firms.population_mean != risk_mean)
    scores = bulk_score(
        enterprise_ids=firms.ids,
        records=records.arrays,
        rulebook=rulebook,
        as_of=as_of,
        risk_probability=None
        if risk_mean is None
        else np.where(other_mean, np.nan, firms.probability),
        risk_population_mean=risk_mean,
    )
    scores = _blend_other_means(scores, firms, other_mean, rulebook)
    day = date_to_day(as_of)
    counted = counted_mask(records.arrays, day)
    fingerprints = _bulk_fingerprints(records, counted, len(firms.ids))
    stale = ~firms.matches(scores, fingerprints)
    proposal = scores.blacklist_proposal
    # blacklist_follow_records acts (withdraw, exit) when no counted record supports an open
    # entry: left to it. A new proposal is opened in bulk below.
    one_by_one = stale & ~proposal & (open_entries != OPEN_NONE)
    bulk = stale & ~one_by_one
    rows = _StaleRows.build(
        firms=firms,
        risk_reasons=_risk_reasons_of(cursor, firms.ids[bulk & firms.has_risk]),
        records=records,
        counted=counted,
        scores=scores,
        fingerprints=fingerprints,
        selected=bulk,
        blacklisted=open_entries == OPEN_ACTIVE,
        rulebook=rulebook,
    )
    with transaction.atomic():
        written = _write_stale_rows(cursor, rows, rulebook_version=active.version, as_of=as_of)
        new_proposals = np.flatnonzero(bulk & proposal & (open_entries == OPEN_NONE))
        _open_blacklist_proposals(
            cursor,
            positions=new_proposals[np.isin(firms.ids[new_proposals], written)],
            firms=firms,
            rows=rows,
        )
        _touch_fresh(cursor, firms.ids[~stale], as_of=as_of)
    left = firms.ids[one_by_one].tolist() + sorted(set(rows.ids) - set(written.tolist()))
    return int(stale.sum()), len(firms.ids), sorted(left)


def _blend_other_means(
    scores: BulkScores, firms: _FirmState, other_mean: np.ndarray, rulebook: Rulebook
) -> BulkScores:
    """bulk_score blends one population mean; the few estimates made against another (a single
    firm re-estimated since the last nightly run) get their model part, score and grade from
    the per-firm functions score_enterprise uses."""
    if not other_mean.any():
        return scores
    model_c = scores.model_adjustment_centi.copy()
    grade = scores.grade.copy()
    for i in np.flatnonzero(other_mean).tolist():
        model_c[i] = model_adjustment_centi(
            probability=float(firms.probability[i]),
            population_mean=float(firms.population_mean[i]),
            rulebook=rulebook,
            has_effective_serious=bool(scores.has_effective_serious[i]),
        )
        grade[i] = grade_index_with_floor(
            grade_index_for(int(scores.rule_score_centi[i] + model_c[i]), rulebook),
            has_effective_bad=bool(scores.has_effective_bad[i]),
            rulebook=rulebook,
        )
    return replace(
        scores,
        model_adjustment_centi=model_c,
        final_score_centi=scores.rule_score_centi + model_c,
        grade=grade,
    )


# --- reading: packed binary columns ---

# (send function, numpy dtype, SQL type) of the packed column kinds.
_PACKED = {
    "i8": ("int8send", ">i8", "int8"),
    "i4": ("int4send", ">i4", "int4"),
    "f8": ("float8send", ">f8", "float8"),
}


def _packed_columns(
    cursor: psycopg.Cursor,
    columns: Sequence[tuple[str, str]],
    source: sql.Composable,
    params: dict,
) -> list[np.ndarray]:
    """Each (SQL expression, kind) of `columns` over the rows of `source` as a numpy array. One
    aggregate pass fills every column, so all are in the same row order; each comes back as one
    big-endian bytea: no Python object per row, where a values_list iterator builds a tuple of
    Python objects for each of the province's 5,000,000 records."""
    select = sql.SQL(", ").join(
        sql.SQL("string_agg({send}(({expression})::{kind}), ''::bytea)").format(
            send=sql.SQL(_PACKED[kind][0]),
            expression=sql.SQL(expression),
            kind=sql.SQL(_PACKED[kind][2]),
        )
        for expression, kind in columns
    )
    cursor.execute(sql.SQL("SELECT {} FROM {}").format(select, source), params, binary=True)
    row = cursor.fetchone()
    return [
        np.frombuffer(raw or b"", dtype=_PACKED[kind][1]).astype(_PACKED[kind][1][1:])
        for raw, (_, kind) in zip(row, columns, strict=True)
    ]


OPEN_NONE, OPEN_PROPOSED, OPEN_ACTIVE = 0, 1, 2
# Bits of the stored-state flags column of _firm_state.
_STORED_PROPOSAL, _STORED_DIRTY, _SAME_RULEBOOK, _SAME_MODEL = 1, 2, 4, 8


@dataclass(frozen=True)
class _FirmState:
    """Every enterprise (ascending id) with its stored score state and risk estimate."""

    ids: np.ndarray
    xmin: np.ndarray  # of the score row; -1 when there is none
    score_centi: np.ndarray
    model_centi: np.ndarray
    grade: np.ndarray  # 1-based position in the rulebook's grades; 0 for none
    flags: np.ndarray  # _STORED_* bits
    fingerprint: np.ndarray
    probability: np.ndarray  # NaN without an estimate
    population_mean: np.ndarray
    model_version_index: np.ndarray  # 1-based in model_versions; 0 without an estimate
    model_versions: tuple[str, ...]

    @property
    def has_risk(self) -> np.ndarray:
        return ~np.isnan(self.probability)

    def usual_population_mean(self) -> float | None:
        """bulk_score takes one population mean: the one most estimates were made against."""
        means = self.population_mean[self.has_risk]
        if not len(means):
            return None
        values, counts = np.unique(means, return_counts=True)
        return float(values[np.argmax(counts)])

    def matches(self, scores: BulkScores, fingerprints: np.ndarray) -> np.ndarray:
        """Whether the stored row still tells the outcome, its counted records and versions."""
        same = _SAME_RULEBOOK | _SAME_MODEL
        return (
            (self.xmin >= 0)
            & (self.score_centi == scores.final_score_centi)
            & (self.model_centi == scores.model_adjustment_centi)
            & (self.grade == scores.grade + 1)
            & (((self.flags & _STORED_PROPOSAL) > 0) == scores.blacklist_proposal)
            & (self.flags & (_STORED_DIRTY | same) == same)
            & (self.fingerprint == fingerprints)
        )


def _firm_state(cursor: psycopg.Cursor, *, rulebook_version: str, rulebook: Rulebook) -> _FirmState:
    cursor.execute(sql.SQL("SELECT DISTINCT model_version FROM {}").format(_table(EnterpriseRisk)))
    versions = tuple(sorted(v for (v,) in cursor.fetchall()))
    columns = _packed_columns(
        cursor,
        [
            ("e.id", "i8"),
            ("COALESCE(s.xmin::text::int8, -1)", "i8"),
            ("COALESCE(s.score * 100, 0)", "i8"),
            ("COALESCE(s.model_adjustment * 100, 0)", "i8"),
            ("COALESCE(array_position(%(grades)s::text[], s.grade), 0)", "i4"),
            (
                # Bits do not overlap, so + packs them (| and << share one precedence level).
                f"COALESCE(s.blacklist_proposal::int4 * {_STORED_PROPOSAL}"
                f" + s.dirty::int4 * {_STORED_DIRTY}"
                f" + (s.rulebook_version = %(rulebook)s)::int4 * {_SAME_RULEBOOK}"
                f" + (s.model_version = COALESCE(r.model_version, ''))::int4 * {_SAME_MODEL}, 0)",
                "i4",
            ),
            ("COALESCE(s.counted_fingerprint, 0)", "i8"),
            ("COALESCE(r.probability, 'NaN')", "f8"),
            ("COALESCE(r.population_mean, 'NaN')", "f8"),
            ("COALESCE(array_position(%(versions)s::text[], r.model_version), 0)", "i4"),
        ],
        sql.SQL(
            "{} e LEFT JOIN {} s ON s.enterprise_id = e.id LEFT JOIN {} r ON r.enterprise_id = e.id"
        ).format(_table(Enterprise), _table(EnterpriseScore), _table(EnterpriseRisk)),
        {
            "grades": list(rulebook.grade_names),
            "rulebook": rulebook_version,
            "versions": list(versions),
        },
    )
    order = np.argsort(columns[0], kind="stable")
    return _FirmState(*(c[order] for c in columns), model_versions=versions)


@dataclass(frozen=True)
class _RecordColumns:
    arrays: RecordArrays
    ids: np.ndarray
    decided: np.ndarray  # day numbers: the per-firm order of records is -decided_at, -id
    code_index: np.ndarray  # into codes
    codes: tuple[str | None, ...]  # None at 0


# Bit layout of the packed per-record column: status in bits 0-2, severity in 3-4, then flags,
# the rule's position in the rulebook from bit 8 up.
_SEVERITY_SHIFT, _GOOD_BIT, _BLACKLIST_BIT, _ENDED_BIT, _CODE_SHIFT = 3, 32, 64, 128, 8
_SEVERITY_UNIT, _CODE_UNIT = 1 << _SEVERITY_SHIFT, 1 << _CODE_SHIFT
_DAYS = "({column} - DATE '1970-01-01')"


def _record_columns(
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray, rulebook: Rulebook
) -> _RecordColumns:
    codes = tuple(rule.code for rule in rulebook.rules)
    packed = (
        "(array_position(%(statuses)s::text[], r.status) - 1)"
        f" + COALESCE(array_position(%(severities)s::text[], r.severity), 0) * {_SEVERITY_UNIT}"
        f" + (r.kind = %(good)s)::int4 * {_GOOD_BIT} + r.blacklist::int4 * {_BLACKLIST_BIT}"
        f" + (r.ended_on IS NOT NULL)::int4 * {_ENDED_BIT} + COALESCE(c.position, 0) * {_CODE_UNIT}"
    )
    params = {
        "codes": list(codes),
        "statuses": list(STATUS_CODES),
        "severities": list(SEVERITY_CODES),
        "good": RecordKind.GOOD.value,
    }
    ids, owners, points, starts, ends, ended, decided, flags = _packed_columns(
        cursor,
        [
            ("r.id", "i8"),
            ("r.enterprise_id", "i8"),
            ("r.points * 100", "i4"),
            (_DAYS.format(column="r.effective_from"), "i4"),
            (_DAYS.format(column="r.effective_until"), "i4"),
            (f"COALESCE({_DAYS.format(column='r.ended_on')}, 0)", "i4"),
            (_DAYS.format(column="r.decided_at"), "i4"),
            (packed, "i4"),
        ],
        # A hash join finds a code's position faster than array_position scans the list.
        sql.SQL(
            "{} r LEFT JOIN unnest(%(codes)s::text[]) WITH ORDINALITY AS c(code, position)"
            " ON c.code = r.rule_code"
        ).format(_table(CreditRecord)),
        params,
    )
    # A record of a firm created after the firm list was read waits for the sweeper.
    position = np.searchsorted(enterprise_ids, owners)
    known_owner = np.zeros(len(owners), dtype=bool)
    inside = position < len(enterprise_ids)
    known_owner[inside] = enterprise_ids[position[inside]] == owners[inside]
    if not known_owner.all():
        ids, position, points, starts, ends, ended, decided, flags = (
            c[known_owner] for c in (ids, position, points, starts, ends, ended, decided, flags)
        )
    code_index = flags >> _CODE_SHIFT
    unknown = _unknown_codes(cursor, ids[code_index == 0])
    extra = tuple(sorted(set(unknown.values())))
    all_codes = (None, *codes, *extra)
    if unknown:
        positions = {code: i for i, code in enumerate(all_codes)}
        where = np.flatnonzero(code_index == 0)
        code_index[where] = [positions[unknown[i]] for i in ids[where].tolist()]
    benefit = np.array([False] + [_has_tender_benefit(c, rulebook) for c in all_codes[1:]])
    arrays = RecordArrays(
        enterprise_index=position,
        is_good=(flags & _GOOD_BIT) > 0,
        points_centi=points.astype(np.int64),
        severity=((flags >> _SEVERITY_SHIFT) & 3).astype(np.int8),
        effective_from=starts.astype(np.int64),
        effective_until=ends.astype(np.int64),
        ended_on=np.where((flags & _ENDED_BIT) > 0, ended.astype(np.int64), DAY_NONE),
        status=(flags & 7).astype(np.int8),
        blacklist=(flags & _BLACKLIST_BIT) > 0,
        tender_benefit=benefit[code_index],
    )
    return _RecordColumns(arrays, ids, decided, code_index, all_codes)


def _unknown_codes(cursor: psycopg.Cursor, record_ids: np.ndarray) -> dict[int, str]:
    """Rule codes of records that outlived their rule in the active rulebook (rare)."""
    if not len(record_ids):
        return {}
    cursor.execute(
        sql.SQL("SELECT id, rule_code FROM {} WHERE id = ANY(%s)").format(_table(CreditRecord)),
        [record_ids.tolist()],
    )
    return dict(cursor.fetchall())


def _has_tender_benefit(code: str, rulebook: Rulebook) -> bool:
    rule = rulebook.rule(code)
    return rule is not None and rule.tender_benefit


def _open_blacklist_entries(cursor: psycopg.Cursor, enterprise_ids: np.ndarray) -> np.ndarray:
    """OPEN_NONE, OPEN_PROPOSED or OPEN_ACTIVE per enterprise."""
    cursor.execute(
        sql.SQL("SELECT enterprise_id, status FROM {} WHERE status = ANY(%s)").format(
            _table(BlacklistEntry)
        ),
        [[BlacklistStatus.PROPOSED.value, BlacklistStatus.ACTIVE.value]],
    )
    state = np.zeros(len(enterprise_ids), dtype=np.int8)
    for enterprise_id, status in cursor.fetchall():
        position = np.searchsorted(enterprise_ids, enterprise_id)
        if position < len(enterprise_ids) and enterprise_ids[position] == enterprise_id:
            state[position] = OPEN_ACTIVE if status == BlacklistStatus.ACTIVE else OPEN_PROPOSED
    return state


def _bulk_fingerprints(records: _RecordColumns, counted: np.ndarray, n: int) -> np.ndarray:
    """counted_fingerprint of every enterprise (uint64 arithmetic wraps like the mask)."""
    totals = np.zeros(n, dtype=np.uint64)
    mixed = records.ids[counted].astype(np.uint64) * np.uint64(_FINGERPRINT_MULTIPLIER)
    np.add.at(totals, records.arrays.enterprise_index[counted], mixed)
    return totals.view(np.int64)


# --- the stale rows and their reasons ---


@dataclass(frozen=True)
class _StaleRows:
    """What recompute_enterprise would store for each selected firm, in enterprise order."""

    ids: list[int]
    xmin: list[int]
    rule_centi: list[int]
    model_centi: list[int]
    final_centi: list[int]
    grades: list[str]
    blacklisted: list[bool]
    proposal: list[bool]
    serious: list[bool]
    benefit_codes: list[str]  # JSON
    reasons: list[str]  # JSON
    fingerprints: list[int]
    model_versions: list[str]
    basis: dict[int, list[tuple[int, str]]]  # (record id, rule code) of blacklist records

    @classmethod
    def build(
        cls,
        *,
        firms: _FirmState,
        risk_reasons: dict[int, tuple[str, ...]],
        records: _RecordColumns,
        counted: np.ndarray,
        scores: BulkScores,
        fingerprints: np.ndarray,
        selected: np.ndarray,
        blacklisted: np.ndarray,
        rulebook: Rulebook,
    ) -> _StaleRows:
        positions = np.flatnonzero(selected)
        ordered = _counted_in_firm_order(
            records, counted & selected[records.arrays.enterprise_index]
        )
        writer = _ReasonWriter(rulebook, records.codes)
        fragments = writer.record_fragments(records, ordered)
        owners = records.arrays.enterprise_index[ordered]
        bounds = np.searchsorted(owners, np.stack([positions, positions + 1]))
        good = records.arrays.is_good[ordered]
        good_uncapped = np.bincount(
            owners[good],
            weights=records.arrays.points_centi[ordered][good],
            minlength=len(firms.ids),
        ).astype(np.int64)
        floor_applied = scores.grade[positions] != writer.band_indexes(
            scores.final_score_centi[positions]
        )
        risks = _risk_inputs(firms, positions, risk_reasons)
        excess = good_uncapped[positions] - to_centi(rulebook.bonus_cap)
        # Plain Python lists: indexing numpy arrays element by element is several times slower.
        reasons = [
            writer.reasons_json(
                fragments[start:end],
                excess_c=excess_c,
                risk=risk,
                model_c=model_c,
                has_serious=serious,
                floor_applied=floor,
                proposal=proposal,
            )
            for start, end, excess_c, risk, model_c, serious, floor, proposal in zip(
                bounds[0].tolist(),
                bounds[1].tolist(),
                excess.tolist(),
                risks,
                scores.model_adjustment_centi[positions].tolist(),
                scores.has_effective_serious[positions].tolist(),
                floor_applied.tolist(),
                scores.blacklist_proposal[positions].tolist(),
                strict=True,
            )
        ]
        grade_names = scores.grade_names(rulebook)
        versions = ("", *firms.model_versions)
        return cls(
            ids=firms.ids[positions].tolist(),
            xmin=firms.xmin[positions].tolist(),
            rule_centi=scores.rule_score_centi[positions].tolist(),
            model_centi=scores.model_adjustment_centi[positions].tolist(),
            final_centi=scores.final_score_centi[positions].tolist(),
            grades=grade_names[positions].tolist(),
            blacklisted=(blacklisted[positions] & scores.blacklist_proposal[positions]).tolist(),
            proposal=scores.blacklist_proposal[positions].tolist(),
            serious=scores.has_effective_serious[positions].tolist(),
            benefit_codes=_benefit_codes_json(records, ordered, owners, positions),
            reasons=reasons,
            fingerprints=fingerprints[positions].tolist(),
            model_versions=[versions[v] for v in firms.model_version_index[positions].tolist()],
            basis=_blacklist_basis(records, ordered, firms.ids),
        )


def _risk_inputs(
    firms: _FirmState, positions: np.ndarray, risk_reasons: dict[int, tuple[str, ...]]
) -> list[RiskInput | None]:
    has_risk = firms.has_risk[positions].tolist()
    return [
        RiskInput(
            probability=probability,
            population_mean=mean,
            model_version=firms.model_versions[version - 1],
            reasons=risk_reasons.get(enterprise_id, ()),
        )
        if present
        else None
        for present, probability, mean, version, enterprise_id in zip(
            has_risk,
            firms.probability[positions].tolist(),
            firms.population_mean[positions].tolist(),
            firms.model_version_index[positions].tolist(),
            firms.ids[positions].tolist(),
            strict=True,
        )
    ]


def _counted_in_firm_order(records: _RecordColumns, mask: np.ndarray) -> np.ndarray:
    """Indexes of the masked records by firm, then as recompute_enterprise lists a firm's
    records (CreditRecord's ordering: newest decision first, then highest id)."""
    where = np.flatnonzero(mask)
    order = np.lexsort(
        (-records.ids[where], -records.decided[where], records.arrays.enterprise_index[where])
    )
    return where[order]


def _risk_reasons_of(
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray
) -> dict[int, tuple[str, ...]]:
    """The shown model reasons of these firms (a model explains with a small vocabulary, so
    each distinct list is parsed once)."""
    if not len(enterprise_ids):
        return {}
    cursor.execute(
        sql.SQL("SELECT enterprise_id, reasons::text FROM {} WHERE enterprise_id = ANY(%s)").format(
            _table(EnterpriseRisk)
        ),
        [enterprise_ids.tolist()],
    )
    parsed: dict[str, tuple[str, ...]] = {}
    reasons = {}
    for enterprise_id, text in cursor.fetchall():
        if text not in parsed:
            parsed[text] = risk_reasons(json.loads(text))
        reasons[enterprise_id] = parsed[text]
    return reasons


def _benefit_codes_json(
    records: _RecordColumns, ordered: np.ndarray, owners: np.ndarray, positions: np.ndarray
) -> list[str]:
    benefit = records.arrays.tender_benefit[ordered] & records.arrays.is_good[ordered]
    codes: dict[int, set[str]] = {}
    for owner, index in zip(
        owners[benefit].tolist(), records.code_index[ordered][benefit].tolist(), strict=True
    ):
        codes.setdefault(owner, set()).add(records.codes[index])
    return [json.dumps(sorted(codes.get(i, ())), ensure_ascii=False) for i in positions.tolist()]


def _blacklist_basis(
    records: _RecordColumns, ordered: np.ndarray, enterprise_ids: np.ndarray
) -> dict[int, list[tuple[int, str]]]:
    """The counted blacklist records of each firm, in its record order (blacklist_record_ids)."""
    arrays = records.arrays
    basis = ordered[arrays.blacklist[ordered] & ~arrays.is_good[ordered]]
    by_firm: dict[int, list[tuple[int, str]]] = {}
    for owner, record_id, code in zip(
        enterprise_ids[arrays.enterprise_index[basis]].tolist(),
        records.ids[basis].tolist(),
        records.code_index[basis].tolist(),
        strict=True,
    ):
        by_firm.setdefault(owner, []).append((record_id, records.codes[code]))
    return by_firm


class _ReasonWriter:
    """A firm's reasons as JSON text, joined from fragments that the reason builders of
    credit.scoring make once per distinct input (a record's reason depends on its rule and
    points only; 250,000 firms share a few hundred)."""

    def __init__(self, rulebook: Rulebook, codes: tuple[str | None, ...]) -> None:
        self.rulebook = rulebook
        self.codes = codes
        self.base = _fragment(base_reason(to_centi(rulebook.base_score)))
        self.floor = _fragment(grade_floor_reason(rulebook))
        self.blacklist = _fragment(blacklist_proposal_reason())
        self._caps: dict[int, str] = {}
        self._factors: dict[tuple, list[str]] = {}

    def record_fragments(self, records: _RecordColumns, ordered: np.ndarray) -> list[str]:
        if not len(ordered):
            return []
        arrays = records.arrays
        keys = np.stack(
            [records.code_index[ordered], arrays.is_good[ordered], arrays.points_centi[ordered]]
        )
        unique, inverse = np.unique(keys, axis=1, return_inverse=True)
        made = [
            self._record_fragment(code, bool(good), centi)
            for code, good, centi in unique.T.tolist()
        ]
        return [made[i] for i in inverse.ravel().tolist()]

    def _record_fragment(self, code_index: int, good: bool, centi: int) -> str:
        record = RecordInput(
            record_id=0,
            rule_code=self.codes[code_index],
            kind=RecordKind.GOOD if good else RecordKind.BAD,
            severity=None if good else SEVERITIES[0],  # the reason does not show the severity
            points=Decimal(centi).scaleb(-2),
            effective_from=None,
            effective_until=None,
            status=RecordStatus.PENDING,
        )
        return _fragment(record_reason(record, self.rulebook))

    def band_indexes(self, final_centi: np.ndarray) -> np.ndarray:
        """grade_index_for of each score (before the clean-firm floor)."""
        values, inverse = np.unique(final_centi, return_inverse=True)
        bands = np.array([grade_index_for(int(v), self.rulebook) for v in values.tolist()])
        return bands[inverse.ravel()] if len(values) else np.zeros(0, dtype=np.int64)

    def reasons_json(
        self,
        records: list[str],
        *,
        excess_c: int,
        risk: RiskInput | None,
        model_c: int,
        has_serious: bool,
        floor_applied: bool,
        proposal: bool,
    ) -> str:
        """The order of score_enterprise's reasons."""
        parts = [self.base, *records]
        if excess_c > 0:
            parts.append(self._cap(excess_c))
        if risk is not None:
            parts.append(self._model(risk, model_c, has_serious))
        if floor_applied:
            parts.append(self.floor)
        if proposal:
            parts.append(self.blacklist)
        return "[" + ",".join(parts) + "]"

    def _cap(self, excess_c: int) -> str:
        if excess_c not in self._caps:
            self._caps[excess_c] = _fragment(bonus_cap_reason(self.rulebook, excess_c=excess_c))
        return self._caps[excess_c]

    def _model(self, risk: RiskInput, model_c: int, has_serious: bool) -> str:
        """model_reasons lists the model line (and the no-lift rule) first, then one line per
        model reason: only the first part depends on the probability, made for each firm."""
        head = model_reasons(
            replace(risk, reasons=()), model_c, has_serious=has_serious, rulebook=self.rulebook
        )
        return ",".join([*(_fragment(r) for r in head), *self._factor_fragments(risk)])

    def _factor_fragments(self, risk: RiskInput) -> list[str]:
        key = (risk.model_version, risk.reasons)
        if key not in self._factors:
            plain = RiskInput(0.0, 0.0, risk.model_version, risk.reasons)  # no no-lift line
            lines = model_reasons(plain, 0, has_serious=False, rulebook=self.rulebook)[1:]
            self._factors[key] = [_fragment(r) for r in lines]
        return self._factors[key]


def _fragment(reason: Reason) -> str:
    return json.dumps(reason_json(reason), ensure_ascii=False)


# --- writing ---

_STALE_TABLE = "recompute_stale_rows"
_STALE_COLUMNS = (
    ("enterprise_id", "bigint"),
    ("seen_xmin", "xid"),
    ("rule_score", "numeric"),
    ("model_adjustment", "numeric"),
    ("score", "numeric"),
    ("grade", "text"),
    ("blacklisted", "boolean"),
    ("blacklist_proposal", "boolean"),
    ("has_effective_serious", "boolean"),
    ("tender_benefit_codes", "jsonb"),
    ("reasons", "jsonb"),
    ("counted_fingerprint", "bigint"),
    ("model_version", "text"),
)
# Firms per COPY block: bounds the text held in memory at once.
COPY_CHUNK = 20000


def _write_stale_rows(
    cursor: psycopg.Cursor, rows: _StaleRows, *, rulebook_version: str, as_of: date
) -> np.ndarray:
    """Store the rows; the ids written. A row is skipped (left to recompute_enterprise) when
    it was written since it was read, or created since it was found missing."""
    if not rows.ids:
        return np.zeros(0, dtype=np.int64)
    staging = sql.Identifier(_STALE_TABLE)
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(staging))
    cursor.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
            staging,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind in _STALE_COLUMNS
            ),
        )
    )
    names = [name for name, _ in _STALE_COLUMNS]
    with cursor.copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(staging, _identifiers(names))
    ) as copy:
        for start in range(0, len(rows.ids), COPY_CHUNK):
            copy.write(_copy_text(rows, start, start + COPY_CHUNK))
    stored = names[2:]  # all but enterprise_id and seen_xmin
    constants = {"rulebook_version": rulebook_version, "as_of": as_of, "now": timezone.now()}
    cursor.execute(
        sql.SQL(
            "UPDATE {table} s SET {settings}, rulebook_version = %(rulebook_version)s,"
            " as_of = %(as_of)s, computed_at = %(now)s, dirty = false, dirty_since = NULL"
            " FROM {staging} t WHERE s.enterprise_id = t.enterprise_id"
            " AND s.xmin = t.seen_xmin RETURNING s.enterprise_id"
        ).format(
            table=_table(EnterpriseScore),
            settings=sql.SQL(", ").join(
                sql.SQL("{name} = t.{name}").format(name=sql.Identifier(name)) for name in stored
            ),
            staging=staging,
        ),
        constants,
    )
    updated = [i for (i,) in cursor.fetchall()]
    cursor.execute(
        sql.SQL(
            "INSERT INTO {table} (enterprise_id, {columns}, rulebook_version, as_of,"
            " computed_at, dirty, dirty_since) SELECT enterprise_id, {columns},"
            " %(rulebook_version)s, %(as_of)s, %(now)s, false, NULL FROM {staging}"
            " WHERE seen_xmin IS NULL ON CONFLICT (enterprise_id) DO NOTHING"
            " RETURNING enterprise_id"
        ).format(table=_table(EnterpriseScore), columns=_identifiers(stored), staging=staging),
        constants,
    )
    inserted = [i for (i,) in cursor.fetchall()]
    cursor.execute(sql.SQL("DROP TABLE pg_temp.{}").format(staging))
    return np.array(sorted(updated + inserted), dtype=np.int64)


def _table(model: type) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def _identifiers(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def _copy_text(rows: _StaleRows, start: int, end: int) -> str:
    """COPY text format: tab-separated, \\N for NULL, backslashes doubled (JSON escapes every
    tab and newline inside its strings, so the backslash is the only character to escape)."""
    lines = []
    for k in range(start, min(end, len(rows.ids))):
        xmin = rows.xmin[k]
        lines.append(
            "\t".join(
                (
                    str(rows.ids[k]),
                    "\\N" if xmin < 0 else str(xmin),
                    _centi_text(rows.rule_centi[k]),
                    _centi_text(rows.model_centi[k]),
                    _centi_text(rows.final_centi[k]),
                    _copy_escape(rows.grades[k]),
                    "t" if rows.blacklisted[k] else "f",
                    "t" if rows.proposal[k] else "f",
                    "t" if rows.serious[k] else "f",
                    _copy_escape(rows.benefit_codes[k]),
                    _copy_escape(rows.reasons[k]),
                    str(rows.fingerprints[k]),
                    _copy_escape(rows.model_versions[k]),
                )
            )
        )
    return "\n".join(lines) + "\n"


def _centi_text(centi: int) -> str:
    sign = "-" if centi < 0 else ""
    whole, cents = divmod(abs(centi), 100)
    return f"{sign}{whole}.{cents:02d}"


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _touch_fresh(cursor: psycopg.Cursor, enterprise_ids: np.ndarray, *, as_of: date) -> None:
    """Unchanged rows only get their scoring day moved forward (their dirty flag, if a flagger
    set it meanwhile, stays for the sweeper)."""
    if not len(enterprise_ids):
        return
    cursor.execute(
        sql.SQL("UPDATE {} SET as_of = %s, computed_at = %s WHERE enterprise_id = ANY(%s)").format(
            _table(EnterpriseScore)
        ),
        [as_of, timezone.now(), enterprise_ids.tolist()],
    )


def _open_blacklist_proposals(
    cursor: psycopg.Cursor, *, positions: np.ndarray, firms: _FirmState, rows: _StaleRows
) -> None:
    """What blacklist_follow_records does for a firm whose blacklist record took effect and that
    has no open entry: a system proposal naming its basis records, and its audit entry (in
    enterprise order, as the per-firm path appends them). Set-based: a first run opens about
    18,000 of them for the province."""
    if not len(positions):
        return
    ids = firms.ids[positions].tolist()
    codes = {i: {code for _, code in rows.basis[i]} for i in ids}
    code_rank = _collated_rank(cursor, set().union(*codes.values()))
    reasons = [
        AUTO_PROPOSAL_REASON.format(codes="、".join(sorted(codes[i], key=code_rank.__getitem__)))
        for i in ids
    ]
    # The columns blacklist_follow_records leaves to their defaults: empty text, no dates.
    cursor.execute(
        sql.SQL(
            "INSERT INTO {} (created_at, updated_at, enterprise_id, status, entry_reason,"
            " proposed_at, entry_authority, entry_document_no, exit_reason, exit_authority,"
            " exit_document_no) SELECT %(now)s, %(now)s, p.enterprise_id, %(status)s, p.reason,"
            " %(now)s, '', '', '', '', '' FROM unnest(%(ids)s::int8[], %(reasons)s::text[])"
            " WITH ORDINALITY AS p(enterprise_id, reason, position) ORDER BY p.position"
            " RETURNING enterprise_id, id"
        ).format(_table(BlacklistEntry)),
        {
            "now": timezone.now(),
            "status": BlacklistStatus.PROPOSED.value,
            "ids": ids,
            "reasons": reasons,
        },
    )
    entry_of = dict(cursor.fetchall())
    basis = [(entry_of[i], record_id) for i in ids for record_id, _ in rows.basis[i]]
    cursor.execute(
        sql.SQL(
            "INSERT INTO {} (blacklistentry_id, creditrecord_id)"
            " SELECT * FROM unnest(%s::int8[], %s::int8[])"
        ).format(_table(BlacklistEntry.basis_records.through)),
        [[entry for entry, _ in basis], [record for _, record in basis]],
    )
    uscc = _uscc_of(cursor, ids)
    audit_append_many(
        actor=SYSTEM_ACTOR,
        items=[
            AuditItem(
                action="credit.blacklist_auto_proposed",
                object_type="blacklist_entry",
                object_id=entry_of[i],
                payload={
                    "enterprise": uscc[i],
                    "status": BlacklistStatus.PROPOSED.value,
                    "basis": [record_id for record_id, _ in rows.basis[i]],
                },
            )
            for i in ids
        ],
    )


def _uscc_of(cursor: psycopg.Cursor, enterprise_ids: list[int]) -> dict[int, str]:
    cursor.execute(
        sql.SQL("SELECT id, uscc FROM {} WHERE id = ANY(%s)").format(_table(Enterprise)),
        [enterprise_ids],
    )
    return dict(cursor.fetchall())


def _collated_rank(cursor: psycopg.Cursor, codes: set[str]) -> dict[str, int]:
    """Codes in the database's collation, as blacklist_follow_records orders them."""
    cursor.execute("SELECT c FROM unnest(%s::text[]) AS c ORDER BY c", [sorted(codes)])
    return {code: rank for rank, (code,) in enumerate(cursor.fetchall())}


@dataclass(frozen=True)
class ActivationSummary:
    activated: int
    expired: int


def _flag_enterprises(enterprise_ids: set[int]) -> None:
    now = timezone.now()
    EnterpriseScore.objects.filter(pk__in=enterprise_ids, dirty=False).update(
        dirty=True, dirty_since=now
    )
    known = set(EnterpriseScore.objects.filter(pk__in=enterprise_ids).values_list("pk", flat=True))
    EnterpriseScore.objects.bulk_create(
        [EnterpriseScore(enterprise_id=i, dirty_since=now) for i in enterprise_ids - known],
        ignore_conflicts=True,
    )


@transaction.atomic
def activate_due_records(*, today: date | None = None) -> ActivationSummary:
    """Pending records whose window has passed and that have no undecided objection become
    effective; effective records past their period become expired. Idempotent: conditional
    updates on the current status. The enterprises concerned are flagged and the sweeper is
    queued once for all of them."""
    today = today or today_local()
    open_objection = Objection.objects.filter(record=OuterRef("pk"), decision="")
    due = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.PENDING, effective_from__lte=today)
        .exclude(Exists(open_objection))
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in due], status=RecordStatus.PENDING).update(
        status=RecordStatus.EFFECTIVE, updated_at=timezone.now()
    )
    ended = list(
        CreditRecord.objects.select_for_update()
        .filter(status=RecordStatus.EFFECTIVE, effective_until__lte=today)
        .values_list("id", "enterprise_id")
    )
    CreditRecord.objects.filter(pk__in=[i for i, _ in ended], status=RecordStatus.EFFECTIVE).update(
        status=RecordStatus.EXPIRED, updated_at=timezone.now()
    )
    if due or ended:
        _flag_enterprises({e for _, e in due} | {e for _, e in ended})
        audit_append(
            actor=SYSTEM_ACTOR,
            action="credit.records_status_clock",
            object_type="credit_record",
            object_id="batch",
            payload={
                "today": today.isoformat(),
                "effective": sorted(i for i, _ in due),
                "expired": sorted(i for i, _ in ended),
            },
        )
        from credit.tasks import recompute_dirty_task

        # A lost message is harmless: the flags are committed and the sweeper runs every 5 min.
        enqueue_on_commit(recompute_dirty_task)
    return ActivationSummary(activated=len(due), expired=len(ended))


# Past this many flagged enterprises one vectorised pass over all of them (a few seconds for
# 250,000) beats recomputing them one at a time (about a millisecond each, with reasons).
# The nightly risk run flags every enterprise at once.
BULK_RECOMPUTE_THRESHOLD = 5000


@dataclass(frozen=True)
class SweepResult:
    recomputed: int
    more_waiting: bool


def recompute_pending() -> SweepResult:
    """What the `credit.recompute_dirty` task runs: the bulk pass for a flood of flags, else
    one batch of the sweeper; `more_waiting` tells the task to queue itself again."""
    flagged = EnterpriseScore.objects.filter(dirty=True).count()
    if flagged > BULK_RECOMPUTE_THRESHOLD:
        summary = recompute_all()
        return SweepResult(recomputed=summary.refreshed, more_waiting=False)
    done = recompute_dirty(limit=DIRTY_BATCH)
    return SweepResult(recomputed=done, more_waiting=done >= DIRTY_BATCH)
