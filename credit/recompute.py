"""Keeping EnterpriseScore current: per-enterprise recompute (with reasons), the dirty sweeper,
the vectorised full recompute, and the record status clock (pending → effective → expired)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import psycopg
import psycopg.errors
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
FULL_RECOMPUTE_ACTION = "credit.full_recompute"
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
# 2. the records that count on the scoring day arrive as packed binary arrays (the server scans
#    all of them and keeps about one in nine; one aggregate row, no Python tuple per row);
# 3. bulk_score scores everyone; the stale firms' reasons are joined from JSON fragments made by
#    the reason builders of credit.scoring, cached (a fragment depends on what it shows);
# 4. the stale rows are written in one transaction: the rows of firms without a score row COPY
#    straight into the score table, the others through a temporary table, one UPDATE (only rows
#    whose xmin has not moved) and one INSERT; then the rule-triggered blacklist proposals of the
#    firms written, with the audit entries blacklist_follow_records would append, and one audit
#    entry for the run. An unchanged row is not written at all: it keeps the day (`as_of`) and
#    time it was computed, and the run's entry says every row not flagged dirty was checked on
#    the run's day;
# 5. recompute_enterprise handles, one by one, what needs more: an open proposal or listing whose
#    basis ended (withdraw or exit), a row that moved under step 4.


@dataclass(frozen=True)
class RecomputeSummary:
    enterprises: int
    refreshed: int
    seconds: float


def recompute_all(*, as_of: date | None = None) -> RecomputeSummary:
    """Score every enterprise in one vectorised pass; store, with reasons, only the rows whose
    outcome or counted record set differ from what is stored (what recompute_enterprise would
    store, firm for firm); the rest are left as they are, and on PostgreSQL one audit entry
    records the run's day (FULL_RECOMPUTE_ACTION)."""
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
    records = _record_columns(cursor, firms.ids, rulebook, as_of=as_of)
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
        risk_reasons=_risk_reasons_of(cursor, firms.ids, needed=(bulk & firms.has_risk).any()),
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
        _record_run(as_of=as_of, enterprises=len(firms.ids), stale=stale, active=active)
    left = firms.ids[one_by_one].tolist() + sorted(set(rows.ids.tolist()) - set(written.tolist()))
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
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray, rulebook: Rulebook, *, as_of: date
) -> _RecordColumns:
    """The records that count on `as_of` (counted_mask's rule, applied by the server): no other
    record moves a score, its reasons, its fingerprint or a blacklist proposal, and the province
    holds about one counting record in nine (most have served their publication period)."""
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
        "pending": RecordStatus.PENDING.value,
        "as_of": as_of,
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
            " ON c.code = r.rule_code WHERE r.status <> %(pending)s"
            " AND r.effective_from <= %(as_of)s AND r.effective_until > %(as_of)s"
            " AND (r.ended_on IS NULL OR r.ended_on > %(as_of)s)"
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
    """What recompute_enterprise would store for each selected firm, in enterprise order. The
    COPY text of a block of rows, their reasons (about 1 KB a firm) above all, is made only as
    that block is sent: the server parses one block while Python makes the next, and the
    province's reasons never sit in memory at once."""

    ids: np.ndarray
    xmin: np.ndarray  # of the score row when the state was read; -1 when there was none
    positions: np.ndarray  # into firms and scores
    firms: _FirmState
    scores: BulkScores
    fingerprints: np.ndarray  # of every firm
    blacklisted: np.ndarray  # per row
    good_uncapped: np.ndarray  # per row: counted good points before the bonus cap
    benefit_codes: dict[int, tuple[str, ...]]  # by position, sorted; absent when none
    risk_reasons: _RiskReasons
    record_reasons: list[str]  # fragments of the selected firms' counted records, in order
    record_bounds: np.ndarray  # per row: its slice of record_reasons
    writer: _ReasonWriter
    basis: dict[int, list[tuple[int, str]]]  # (record id, rule code) of blacklist records

    @classmethod
    def build(
        cls,
        *,
        firms: _FirmState,
        risk_reasons: _RiskReasons,
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
        owners = records.arrays.enterprise_index[ordered]
        good = records.arrays.is_good[ordered]
        good_points = np.bincount(
            owners[good],
            weights=records.arrays.points_centi[ordered][good],
            minlength=len(firms.ids),
        ).astype(np.int64)
        return cls(
            ids=firms.ids[positions],
            xmin=firms.xmin[positions],
            positions=positions,
            firms=firms,
            scores=scores,
            fingerprints=fingerprints,
            blacklisted=blacklisted[positions] & scores.blacklist_proposal[positions],
            good_uncapped=good_points[positions],
            benefit_codes=_benefit_codes(records, ordered, owners),
            risk_reasons=risk_reasons,
            record_reasons=writer.record_fragments(records, ordered),
            record_bounds=np.searchsorted(owners, np.stack([positions, positions + 1])).T,
            writer=writer,
            basis=_blacklist_basis(records, ordered, firms.ids),
        )

    def copy_blocks(
        self, indexes: np.ndarray, *, with_xmin: bool, constants: str = ""
    ) -> Iterator[str]:
        """COPY text of the rows at `indexes`, COPY_CHUNK lines a block: enterprise_id, its
        seen xmin (\\N for none) when `with_xmin`, the columns of _STORED_COLUMNS, then
        `constants` (tab-led COPY text of the columns every row shares)."""
        for start in range(0, len(indexes), COPY_CHUNK):
            yield self._block(indexes[start : start + COPY_CHUNK], with_xmin, constants)

    def _block(self, chunk: np.ndarray, with_xmin: bool, constants: str) -> str:
        positions = self.positions[chunk]
        heads = [str(i) for i in self.ids[chunk].tolist()]
        if with_xmin:
            xmin = self.xmin[chunk].tolist()
            heads = [f"{h}\t{_COPY_NULL if x < 0 else x}" for h, x in zip(heads, xmin, strict=True)]
        before = self.writer.columns_before_reasons(
            self.scores,
            positions,
            blacklisted=self.blacklisted[chunk],
            benefit_codes=[self.benefit_codes.get(p, ()) for p in positions.tolist()],
        )
        tails = self.writer.tails(
            self.good_uncapped[chunk],
            firms=self.firms,
            risk_reasons=self.risk_reasons,
            scores=self.scores,
            positions=positions,
        )
        after = _columns_after_reasons(self.firms, self.fingerprints, positions)
        base, fragments = self.writer.base, self.record_reasons
        lines = []
        for head, (start, end), columns, tail, last in zip(
            heads, self.record_bounds[chunk].tolist(), before, tails, after, strict=True
        ):
            records = "".join(["," + fragment for fragment in fragments[start:end]])
            lines.append(f"{head}\t{columns}\t[{base}{records}{tail}]\t{last}{constants}\n")
        return "".join(lines)


def _columns_after_reasons(
    firms: _FirmState, fingerprints: np.ndarray, positions: np.ndarray
) -> list[str]:
    """counted_fingerprint and model_version of each firm, as COPY text."""
    versions = [_copy_escape(v) for v in ("", *firms.model_versions)]
    return [
        f"{fingerprint}\t{versions[version]}"
        for fingerprint, version in zip(
            fingerprints[positions].tolist(),
            firms.model_version_index[positions].tolist(),
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


@dataclass(frozen=True)
class _RiskReasons:
    """The shown model reasons of every firm with an estimate: an index per firm (0 for none)
    into a small vocabulary of distinct lists."""

    index: np.ndarray
    lists: tuple[tuple[str, ...], ...]  # () at 0


def _risk_reasons_of(
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray, *, needed: bool
) -> _RiskReasons:
    """A model explains with a small vocabulary: the server groups the firms by their stored
    list (packed ids per group), so each distinct list is parsed once and no Python object is
    made per firm. Not read when no firm written has an estimate (a quiet nightly run)."""
    index = np.zeros(len(enterprise_ids), dtype=np.int32)
    lists: list[tuple[str, ...]] = [()]
    if not needed:
        return _RiskReasons(index, tuple(lists))
    cursor.execute(
        sql.SQL(
            "SELECT reasons::text, string_agg(int8send(enterprise_id), ''::bytea) FROM {}"
            " GROUP BY 1"
        ).format(_table(EnterpriseRisk)),
        binary=True,
    )
    for text, packed in cursor.fetchall():
        owners = np.frombuffer(packed, dtype=">i8").astype(np.int64)
        position = np.searchsorted(enterprise_ids, owners)
        inside = position < len(enterprise_ids)
        known = position[inside][enterprise_ids[position[inside]] == owners[inside]]
        lists.append(risk_reasons(json.loads(text)))
        index[known] = len(lists) - 1
    return _RiskReasons(index, tuple(lists))


def _benefit_codes(
    records: _RecordColumns, ordered: np.ndarray, owners: np.ndarray
) -> dict[int, tuple[str, ...]]:
    """The sorted codes of the counted good records with a tender benefit, by firm position."""
    benefit = records.arrays.tender_benefit[ordered] & records.arrays.is_good[ordered]
    codes: dict[int, set[str]] = {}
    for owner, index in zip(
        owners[benefit].tolist(), records.code_index[ordered][benefit].tolist(), strict=True
    ):
        codes.setdefault(owner, set()).add(records.codes[index])
    return {owner: tuple(sorted(found)) for owner, found in codes.items()}


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


_POINTS_MASK = (1 << 31) - 1


class _ReasonWriter:
    """Reasons as COPY text of their JSON, joined from fragments that the reason builders of
    credit.scoring make once per distinct input: a record's reason depends on its rule and
    points only, the model's lines on what they show (250,000 firms share a few thousand)."""

    def __init__(self, rulebook: Rulebook, codes: tuple[str | None, ...]) -> None:
        self.rulebook = rulebook
        self.codes = codes
        self.base = _fragment(base_reason(to_centi(rulebook.base_score)))
        self.floor = _fragment(grade_floor_reason(rulebook))
        self.blacklist = _fragment(blacklist_proposal_reason())
        self._grades = [_copy_escape(name) for name in rulebook.grade_names]
        self._centi: dict[int, str] = {}
        self._bands: dict[int, int] = {}
        self._benefits: dict[tuple[str, ...], str] = {}
        self._models: dict[tuple, str] = {}
        self._tails: dict[tuple, str] = {}

    def record_fragments(self, records: _RecordColumns, ordered: np.ndarray) -> list[str]:
        arrays = records.arrays
        # One int64 key per record (points are read as int4, so they fit in the low 31 bits):
        # a 1-D unique sorts several times faster than np.unique over columns.
        keys = (
            (records.code_index[ordered].astype(np.int64) << 32)
            | (arrays.is_good[ordered].astype(np.int64) << 31)
            | arrays.points_centi[ordered]
        )
        unique, inverse = np.unique(keys, return_inverse=True)
        made = [
            self._record_fragment(key >> 32, bool((key >> 31) & 1), key & _POINTS_MASK)
            for key in unique.tolist()
        ]
        return [made[i] for i in inverse.tolist()]

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

    def columns_before_reasons(
        self,
        scores: BulkScores,
        positions: np.ndarray,
        *,
        blacklisted: np.ndarray,
        benefit_codes: list[tuple[str, ...]],
    ) -> list[str]:
        """rule_score, model_adjustment, score, grade, blacklisted, blacklist_proposal,
        has_effective_serious and tender_benefit_codes of each firm, as COPY text."""
        flags = ("f", "t")
        return [
            f"{self._centi_text(rule)}\t{self._centi_text(model)}\t{self._centi_text(final)}"
            f"\t{self._grades[grade]}\t{flags[black]}\t{flags[proposal]}\t{flags[serious]}"
            f"\t{self._benefit_json(codes)}"
            for rule, model, final, grade, black, proposal, serious, codes in zip(
                scores.rule_score_centi[positions].tolist(),
                scores.model_adjustment_centi[positions].tolist(),
                scores.final_score_centi[positions].tolist(),
                scores.grade[positions].tolist(),
                blacklisted.tolist(),
                scores.blacklist_proposal[positions].tolist(),
                scores.has_effective_serious[positions].tolist(),
                benefit_codes,
                strict=True,
            )
        ]

    def _centi_text(self, centi: int) -> str:
        text = self._centi.get(centi)
        if text is None:
            text = self._centi[centi] = _centi_text(centi)
        return text

    def _benefit_json(self, codes: tuple[str, ...]) -> str:
        text = self._benefits.get(codes)
        if text is None:
            text = self._benefits[codes] = _copy_escape(json.dumps(list(codes), ensure_ascii=False))
        return text

    def band_indexes(self, final_centi: np.ndarray) -> np.ndarray:
        """grade_index_for of each score (before the clean-firm floor)."""
        values, inverse = np.unique(final_centi, return_inverse=True)
        bands = np.array([self._band(v) for v in values.tolist()], dtype=np.int64)
        return bands[inverse.ravel()]

    def _band(self, final_centi: int) -> int:
        band = self._bands.get(final_centi)
        if band is None:
            band = self._bands[final_centi] = grade_index_for(final_centi, self.rulebook)
        return band

    def tails(
        self,
        good_uncapped: np.ndarray,
        *,
        firms: _FirmState,
        risk_reasons: _RiskReasons,
        scores: BulkScores,
        positions: np.ndarray,
    ) -> list[str]:
        """What follows a firm's record lines (each joined once per distinct combination):
        the bonus cap, the model's lines, the grade floor, the blacklist proposal."""
        excess = good_uncapped - to_centi(self.rulebook.bonus_cap)
        floor_applied = scores.grade[positions] != self.band_indexes(
            scores.final_score_centi[positions]
        )
        models = self._model_parts(firms, risk_reasons, scores, positions)
        tails = []
        for key in zip(
            excess.tolist(),
            models,
            floor_applied.tolist(),
            scores.blacklist_proposal[positions].tolist(),
            strict=True,
        ):
            tail = self._tails.get(key)
            if tail is None:
                tail = self._tails[key] = self._tail(*key)
            tails.append(tail)
        return tails

    def _tail(self, excess_c: int, model: str, floor_applied: bool, proposal: bool) -> str:
        parts = []
        if excess_c > 0:
            parts.append(_fragment(bonus_cap_reason(self.rulebook, excess_c=excess_c)))
        if model:
            parts.append(model)
        if floor_applied:
            parts.append(self.floor)
        if proposal:
            parts.append(self.blacklist)
        return "".join("," + part for part in parts)

    def _model_parts(
        self,
        firms: _FirmState,
        risk_reasons: _RiskReasons,
        scores: BulkScores,
        positions: np.ndarray,
    ) -> list[str]:
        """model_reasons of each firm as fragments ("" without an estimate)."""
        parts = []
        for present, probability, mean, version, reasons, model_c, serious in zip(
            firms.has_risk[positions].tolist(),
            firms.probability[positions].tolist(),
            firms.population_mean[positions].tolist(),
            firms.model_version_index[positions].tolist(),
            risk_reasons.index[positions].tolist(),
            scores.model_adjustment_centi[positions].tolist(),
            scores.has_effective_serious[positions].tolist(),
            strict=True,
        ):
            if not present:
                parts.append("")
                continue
            # Everything model_reasons shows: the version, both rates as printed, the points,
            # whether the no-lift line applies, the model's own reasons.
            key = (
                version,
                f"{probability:.1%}",
                f"{mean:.1%}",
                model_c,
                serious and probability < mean,
                reasons,
            )
            part = self._models.get(key)
            if part is None:
                risk = RiskInput(
                    probability=probability,
                    population_mean=mean,
                    model_version=firms.model_versions[version - 1],
                    reasons=risk_reasons.lists[reasons],
                )
                lines = model_reasons(risk, model_c, has_serious=serious, rulebook=self.rulebook)
                part = self._models[key] = ",".join(_fragment(r) for r in lines)
            parts.append(part)
        return parts


def _fragment(reason: Reason) -> str:
    """reason_json as compact JSON (jsonb stores the same value as with spaces), escaped for
    COPY text: JSON escapes every tab and newline inside its strings, so the backslash is the
    only character to double."""
    text = json.dumps(reason_json(reason), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\\", "\\\\")


# --- writing ---

# The stored columns in the order of a COPY line, after enterprise_id (and the seen xmin).
_STORED_COLUMNS = (
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
# Set alike on every row written, after the stored columns.
_RUN_COLUMNS = ("rulebook_version", "as_of", "computed_at", "dirty", "dirty_since")
_STALE_TABLE = "recompute_stale_rows"
_COPY_NULL = "\\N"
# Firms per block of COPY text (about 2 MB): the server parses one while the next is made, and
# the text held at once stays small.
COPY_CHUNK = 2000


def _write_stale_rows(
    cursor: psycopg.Cursor, rows: _StaleRows, *, rulebook_version: str, as_of: date
) -> np.ndarray:
    """Store the rows; the ids written. A row is skipped (left to recompute_enterprise) when
    it was written since it was read, or created since it was found missing."""
    now = timezone.now()
    new = np.flatnonzero(rows.xmin < 0)
    written = []
    through_staging = np.arange(len(rows.ids))
    if len(new) and _copy_new_rows(
        cursor, rows, new, rulebook_version=rulebook_version, as_of=as_of, now=now
    ):
        written.append(rows.ids[new])
        through_staging = np.flatnonzero(rows.xmin >= 0)
    if len(through_staging):
        constants = {"rulebook_version": rulebook_version, "as_of": as_of, "now": now}
        written.append(_write_through_staging(cursor, rows, through_staging, constants))
    if not written:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(written))


def _copy_new_rows(
    cursor: psycopg.Cursor,
    rows: _StaleRows,
    indexes: np.ndarray,
    *,
    rulebook_version: str,
    as_of: date,
    now: datetime,
) -> bool:
    """COPY the rows of firms that had no score row straight into the score table (a first run
    writes 250,000 of them: no staging copy, one multi-row insert). False, with nothing
    written, when a flagger created one of those rows since: the staging path skips it."""
    names = ["enterprise_id", *(name for name, _ in _STORED_COLUMNS), *_RUN_COLUMNS]
    constants = "\t".join(
        ["", _copy_escape(rulebook_version), as_of.isoformat(), now.isoformat(), "f", _COPY_NULL]
    )
    try:
        with transaction.atomic():  # a savepoint: the refused COPY alone is undone
            _copy(
                cursor,
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    _table(EnterpriseScore), _identifiers(names)
                ),
                rows.copy_blocks(indexes, with_xmin=False, constants=constants),
            )
    except psycopg.errors.UniqueViolation:
        return False
    return True


def _copy(cursor: psycopg.Cursor, statement: sql.Composable, blocks: Iterator[str]) -> None:
    # Python makes a block while the server parses the one in the socket's buffers: the
    # server's JSON parsing is the slower side, so a writer thread would only queue blocks in
    # memory (measured: no faster, 120 MiB more).
    with cursor.copy(statement) as copy:
        for block in blocks:
            copy.write(block)


def _write_through_staging(
    cursor: psycopg.Cursor, rows: _StaleRows, indexes: np.ndarray, constants: dict
) -> np.ndarray:
    """COPY into a temporary table, then one UPDATE of the rows whose xmin has not moved and
    one INSERT of the rows still missing; the ids written."""
    staging = sql.Identifier(_STALE_TABLE)
    columns = [("enterprise_id", "bigint"), ("seen_xmin", "xid"), *_STORED_COLUMNS]
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(staging))
    cursor.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
            staging,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind in columns
            ),
        )
    )
    _copy(
        cursor,
        sql.SQL("COPY {} ({}) FROM STDIN").format(
            staging, _identifiers([name for name, _ in columns])
        ),
        rows.copy_blocks(indexes, with_xmin=True),
    )
    stored = [name for name, _ in _STORED_COLUMNS]
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
    return np.array(updated + inserted, dtype=np.int64)


def _table(model: type) -> sql.Identifier:
    return sql.Identifier(model._meta.db_table)


def _identifiers(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(name) for name in names)


def _centi_text(centi: int) -> str:
    sign = "-" if centi < 0 else ""
    whole, cents = divmod(abs(centi), 100)
    return f"{sign}{whole}.{cents:02d}"


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _record_run(
    *, as_of: date, enterprises: int, stale: np.ndarray, active: ActiveRulebook
) -> None:
    """One audit entry says that every score row not flagged dirty was checked on `as_of`: an
    unchanged row keeps the day and time it was computed (the nightly run writes nothing for
    it, where touching 250,000 rows cost seconds of writes and WAL)."""
    audit_append(
        actor=SYSTEM_ACTOR,
        action=FULL_RECOMPUTE_ACTION,
        object_type="enterprise_score",
        object_id="all",
        payload={
            "as_of": as_of.isoformat(),
            "enterprises": enterprises,
            "stale": int(stale.sum()),
            "rulebook_version": active.version,
        },
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
