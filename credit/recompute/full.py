"""The full recompute: every enterprise in one vectorised pass on PostgreSQL (the per-firm path
on SQLite), storing only the rows whose outcome moved."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import psycopg
from django.db import connection, transaction

from backend.audit import SYSTEM_ACTOR, audit_append
from credit.models import Enterprise
from credit.recompute import bulk_read, bulk_write
from credit.recompute.bulk_read import OPEN_ACTIVE, OPEN_NONE, FirmState
from credit.recompute.firm import recompute_enterprise
from credit.recompute.rows import StaleRows
from credit.rulebook import Rulebook
from credit.scoring import (
    BulkScores,
    bulk_score,
    counted_mask,
    date_to_day,
    grade_index_for,
    grade_index_with_floor,
    model_adjustment_centi,
)
from credit.selectors import ActiveRulebook, active_rulebook
from credit.workdays import today_local

FULL_RECOMPUTE_ACTION = "credit.full_recompute"

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
    firms = bulk_read.firm_state(cursor, rulebook_version=active.version, rulebook=rulebook)
    records = bulk_read.counted_records(cursor, firms.ids, rulebook, as_of=as_of)
    open_entries = bulk_read.open_blacklist_entries(cursor, firms.ids)
    risk_mean = firms.usual_population_mean()
    other_mean = firms.blended & (firms.population_mean != risk_mean)
    scores = bulk_score(
        enterprise_ids=firms.ids,
        records=records.arrays,
        rulebook=rulebook,
        as_of=as_of,
        risk_probability=None
        if risk_mean is None
        else np.where(other_mean | ~firms.live, np.nan, firms.probability),
        risk_population_mean=risk_mean,
    )
    scores = _blend_other_means(scores, firms, other_mean, rulebook)
    day = date_to_day(as_of)
    counted = counted_mask(records.arrays, day)
    fingerprints = bulk_read.bulk_fingerprints(records, counted, len(firms.ids))
    stale = ~firms.matches(scores, fingerprints)
    proposal = scores.blacklist_proposal
    # blacklist_follow_records acts (withdraw, exit) when no counted record supports an open
    # entry: left to it. A new proposal is opened in bulk below.
    one_by_one = stale & ~proposal & (open_entries != OPEN_NONE)
    bulk = stale & ~one_by_one
    rows = StaleRows.build(
        firms=firms,
        risk_reasons=bulk_read.risk_reasons_of(
            cursor, firms.ids, needed=(bulk & firms.has_risk).any()
        ),
        records=records,
        counted=counted,
        scores=scores,
        fingerprints=fingerprints,
        selected=bulk,
        blacklisted=open_entries == OPEN_ACTIVE,
        rulebook=rulebook,
    )
    with transaction.atomic():
        written = bulk_write.write_stale_rows(
            cursor, rows, rulebook_version=active.version, as_of=as_of
        )
        new_proposals = np.flatnonzero(bulk & proposal & (open_entries == OPEN_NONE))
        bulk_write.open_blacklist_proposals(
            cursor,
            positions=new_proposals[np.isin(firms.ids[new_proposals], written)],
            firms=firms,
            rows=rows,
        )
        record_run(as_of=as_of, enterprises=len(firms.ids), stale=stale, active=active)
    left = firms.ids[one_by_one].tolist() + sorted(set(rows.ids.tolist()) - set(written.tolist()))
    return int(stale.sum()), len(firms.ids), sorted(left)


def _blend_other_means(
    scores: BulkScores, firms: FirmState, other_mean: np.ndarray, rulebook: Rulebook
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


def record_run(*, as_of: date, enterprises: int, stale: np.ndarray, active: ActiveRulebook) -> None:
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
