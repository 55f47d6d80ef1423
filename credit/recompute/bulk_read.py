"""The bulk read of the full recompute: the score rows' state, the records that count on the
day and the risk reasons, as packed binary columns turned into numpy arrays (no Python object
per row)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import psycopg
from psycopg import sql

from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseRisk,
    EnterpriseScore,
    RecordKind,
    RecordStatus,
)
from credit.recompute.copy_text import table
from credit.rulebook import Rulebook
from credit.score_inputs import FINGERPRINT_MULTIPLIER, risk_reasons
from credit.scoring import (
    DAY_NONE,
    SEVERITY_CODES,
    STATUS_CODES,
    BulkScores,
    RecordArrays,
)

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
# Bits of the stored-state flags column of firm_state.
_STORED_PROPOSAL, _STORED_DIRTY, _SAME_RULEBOOK, _SAME_MODEL = 1, 2, 4, 8


@dataclass(frozen=True)
class FirmState:
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
    live: np.ndarray  # the estimate counts (its model passed the promotion gate); 1 without one
    model_versions: tuple[str, ...]

    @property
    def has_risk(self) -> np.ndarray:
        return ~np.isnan(self.probability)

    @property
    def blended(self) -> np.ndarray:
        """Firms whose estimate moves the score (a model that is not live moves none)."""
        return self.has_risk & self.live

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


def firm_state(cursor: psycopg.Cursor, *, rulebook_version: str, rulebook: Rulebook) -> FirmState:
    cursor.execute(sql.SQL("SELECT DISTINCT model_version FROM {}").format(table(EnterpriseRisk)))
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
            ("COALESCE(r.live, true)::int4", "i4"),
        ],
        sql.SQL(
            "{} e LEFT JOIN {} s ON s.enterprise_id = e.id LEFT JOIN {} r ON r.enterprise_id = e.id"
        ).format(table(Enterprise), table(EnterpriseScore), table(EnterpriseRisk)),
        {
            "grades": list(rulebook.grade_names),
            "rulebook": rulebook_version,
            "versions": list(versions),
        },
    )
    order = np.argsort(columns[0], kind="stable")
    columns[-1] = columns[-1] > 0
    return FirmState(*(c[order] for c in columns), model_versions=versions)


@dataclass(frozen=True)
class RecordColumns:
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


def counted_records(
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray, rulebook: Rulebook, *, as_of: date
) -> RecordColumns:
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
        ).format(table(CreditRecord)),
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
    return RecordColumns(arrays, ids, decided, code_index, all_codes)


def _unknown_codes(cursor: psycopg.Cursor, record_ids: np.ndarray) -> dict[int, str]:
    """Rule codes of records that outlived their rule in the active rulebook (rare)."""
    if not len(record_ids):
        return {}
    cursor.execute(
        sql.SQL("SELECT id, rule_code FROM {} WHERE id = ANY(%s)").format(table(CreditRecord)),
        [record_ids.tolist()],
    )
    return dict(cursor.fetchall())


def _has_tender_benefit(code: str, rulebook: Rulebook) -> bool:
    rule = rulebook.rule(code)
    return rule is not None and rule.tender_benefit


def open_blacklist_entries(cursor: psycopg.Cursor, enterprise_ids: np.ndarray) -> np.ndarray:
    """OPEN_NONE, OPEN_PROPOSED or OPEN_ACTIVE per enterprise."""
    cursor.execute(
        sql.SQL("SELECT enterprise_id, status FROM {} WHERE status = ANY(%s)").format(
            table(BlacklistEntry)
        ),
        [[BlacklistStatus.PROPOSED.value, BlacklistStatus.ACTIVE.value]],
    )
    state = np.zeros(len(enterprise_ids), dtype=np.int8)
    for enterprise_id, status in cursor.fetchall():
        position = np.searchsorted(enterprise_ids, enterprise_id)
        if position < len(enterprise_ids) and enterprise_ids[position] == enterprise_id:
            state[position] = OPEN_ACTIVE if status == BlacklistStatus.ACTIVE else OPEN_PROPOSED
    return state


def bulk_fingerprints(records: RecordColumns, counted: np.ndarray, n: int) -> np.ndarray:
    """counted_fingerprint of every enterprise (uint64 arithmetic wraps like the mask)."""
    totals = np.zeros(n, dtype=np.uint64)
    mixed = records.ids[counted].astype(np.uint64) * np.uint64(FINGERPRINT_MULTIPLIER)
    np.add.at(totals, records.arrays.enterprise_index[counted], mixed)
    return totals.view(np.int64)


@dataclass(frozen=True)
class RiskReasons:
    """The shown model reasons of every firm with an estimate: an index per firm (0 for none)
    into a small vocabulary of distinct lists."""

    index: np.ndarray
    lists: tuple[tuple[str, ...], ...]  # () at 0


def risk_reasons_of(
    cursor: psycopg.Cursor, enterprise_ids: np.ndarray, *, needed: bool
) -> RiskReasons:
    """A model explains with a small vocabulary: the server groups the firms by their stored
    list (packed ids per group), so each distinct list is parsed once and no Python object is
    made per firm. Not read when no firm written has an estimate (a quiet nightly run)."""
    index = np.zeros(len(enterprise_ids), dtype=np.int32)
    lists: list[tuple[str, ...]] = [()]
    if not needed:
        return RiskReasons(index, tuple(lists))
    cursor.execute(
        sql.SQL(
            "SELECT reasons::text, string_agg(int8send(enterprise_id), ''::bytea) FROM {}"
            " GROUP BY 1"
        ).format(table(EnterpriseRisk)),
        binary=True,
    )
    for text, packed in cursor.fetchall():
        owners = np.frombuffer(packed, dtype=">i8").astype(np.int64)
        position = np.searchsorted(enterprise_ids, owners)
        inside = position < len(enterprise_ids)
        known = position[inside][enterprise_ids[position[inside]] == owners[inside]]
        lists.append(risk_reasons(json.loads(text)))
        index[known] = len(lists) - 1
    return RiskReasons(index, tuple(lists))
