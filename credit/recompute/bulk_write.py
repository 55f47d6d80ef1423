"""The bulk write of the full recompute: the stale rows COPYed (straight into the score table for
firms without a row, through a staging table otherwise, guarded by each row's xmin), then the
rule-triggered blacklist proposals of the firms written, set-based."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import numpy as np
import psycopg
import psycopg.errors
from django.db import transaction
from django.utils import timezone
from psycopg import sql

from backend.audit import SYSTEM_ACTOR, AuditItem, audit_append_many
from credit.models import BlacklistEntry, BlacklistStatus, Enterprise, EnterpriseScore
from credit.recompute.bulk_read import FirmState
from credit.recompute.copy_text import COPY_NULL, copy_escape, identifiers, table
from credit.recompute.rows import StaleRows
from credit.services.blacklist import AUTO_PROPOSAL_REASON

# The stored columns in the order of a COPY line, after enterprise_id (and the seen xmin).
STORED_COLUMNS = (
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


def write_stale_rows(
    cursor: psycopg.Cursor, rows: StaleRows, *, rulebook_version: str, as_of: date
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
    rows: StaleRows,
    indexes: np.ndarray,
    *,
    rulebook_version: str,
    as_of: date,
    now: datetime,
) -> bool:
    """COPY the rows of firms that had no score row straight into the score table (a first run
    writes 250,000 of them: no staging copy, one multi-row insert). False, with nothing
    written, when a flagger created one of those rows since: the staging path skips it."""
    names = ["enterprise_id", *(name for name, _ in STORED_COLUMNS), *_RUN_COLUMNS]
    constants = "\t".join(
        ["", copy_escape(rulebook_version), as_of.isoformat(), now.isoformat(), "f", COPY_NULL]
    )
    try:
        with transaction.atomic():  # a savepoint: the refused COPY alone is undone
            _copy(
                cursor,
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    table(EnterpriseScore), identifiers(names)
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
    cursor: psycopg.Cursor, rows: StaleRows, indexes: np.ndarray, constants: dict
) -> np.ndarray:
    """COPY into a temporary table, then one UPDATE of the rows whose xmin has not moved and
    one INSERT of the rows still missing; the ids written."""
    staging = sql.Identifier(_STALE_TABLE)
    columns = [("enterprise_id", "bigint"), ("seen_xmin", "xid"), *STORED_COLUMNS]
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
            staging, identifiers([name for name, _ in columns])
        ),
        rows.copy_blocks(indexes, with_xmin=True),
    )
    stored = [name for name, _ in STORED_COLUMNS]
    cursor.execute(
        sql.SQL(
            "UPDATE {table} s SET {settings}, rulebook_version = %(rulebook_version)s,"
            " as_of = %(as_of)s, computed_at = %(now)s, dirty = false, dirty_since = NULL"
            " FROM {staging} t WHERE s.enterprise_id = t.enterprise_id"
            " AND s.xmin = t.seen_xmin RETURNING s.enterprise_id"
        ).format(
            table=table(EnterpriseScore),
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
        ).format(table=table(EnterpriseScore), columns=identifiers(stored), staging=staging),
        constants,
    )
    inserted = [i for (i,) in cursor.fetchall()]
    cursor.execute(sql.SQL("DROP TABLE pg_temp.{}").format(staging))
    return np.array(updated + inserted, dtype=np.int64)


def open_blacklist_proposals(
    cursor: psycopg.Cursor, *, positions: np.ndarray, firms: FirmState, rows: StaleRows
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
        ).format(table(BlacklistEntry)),
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
        ).format(table(BlacklistEntry.basis_records.through)),
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
        sql.SQL("SELECT id, uscc FROM {} WHERE id = ANY(%s)").format(table(Enterprise)),
        [enterprise_ids],
    )
    return dict(cursor.fetchall())


def _collated_rank(cursor: psycopg.Cursor, codes: set[str]) -> dict[str, int]:
    """Codes in the database's collation, as blacklist_follow_records orders them."""
    cursor.execute("SELECT c FROM unnest(%s::text[]) AS c ORDER BY c", [sorted(codes)])
    return {code: rank for rank, (code,) in enumerate(cursor.fetchall())}
