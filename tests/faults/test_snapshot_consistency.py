"""A snapshot is published while writers keep adding credit records: it is a cut at one moment.
Every entry equals the score of exactly the records committed before the snapshot's database
snapshot was taken, a writer's transaction is in it whole or not at all, its hash re-computes
from its entries, and the records themselves end as in a run where nothing overlapped."""

import hashlib
import threading
import time

import psycopg
import psycopg.sql
import pytest
from django.db import connection, transaction

from credit.models import CreditRecord, Enterprise, RecordSource, Snapshot, SnapshotEntry
from credit.publication import snapshot_content_chunks, snapshot_publish
from credit.score_inputs import record_input
from credit.scoring import score_enterprise
from credit.selectors import active_rulebook
from credit.services import record_create, today_local
from tests.factories import region
from tests.faults.control import wait_until
from tests.faults.fingerprint import assert_same_end_state, reset_world, take_fingerprint
from tests.faults.world import REGION_CODE, uscc

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Enough enterprises that publishing takes a noticeable time, so writers commit during it.
FIRMS = 1000
WRITERS = 3
GROUPS_PER_WRITER = 60
# Each writer transaction adds two records to one enterprise: a snapshot holding one of them
# would show that enterprise half-updated.
GROUP_CODES = ("SANITATION", "FEE-NOT-DISCLOSED")
PUBLISH_AFTER_GROUPS = 10


class Writer(threading.Thread):
    """Writes its groups one transaction each; `committed` maps a group to when its commit
    returned."""

    def __init__(self, *, index: int, firm_ids: list[int]) -> None:
        super().__init__(daemon=True)
        self.index, self.firm_ids = index, firm_ids
        self.committed: dict[str, float] = {}
        self.failure: BaseException | None = None

    def groups(self) -> list[tuple[str, int]]:
        return [
            (f"w{self.index}-g{n}", self.firm_ids[(self.index * 7919 + n * 31) % FIRMS])
            for n in range(GROUPS_PER_WRITER)
        ]

    def run(self) -> None:
        try:
            for group, firm_id in self.groups():
                self.write(group, firm_id)
                self.committed[group] = time.monotonic()
        except BaseException as exc:
            self.failure = exc
        finally:
            connection.close()

    @staticmethod
    @transaction.atomic
    def write(group: str, firm_id: int) -> None:
        firm = Enterprise.objects.get(id=firm_id)
        for code in GROUP_CODES:
            record_create(
                enterprise=firm,
                rule_code=code,
                decided_at=today_local(),
                source=RecordSource.INSPECTION,
                source_ref=f"{group}/{code}",
                actor=None,
            )


class SnapshotCapture:
    """Wraps the publishing thread's queries. After the first one inside its transaction it
    exports the transaction's snapshot (in REPEATABLE READ, the one every later query of the
    transaction sees) and reads, on a second connection that imports it, which records that
    snapshot sees: record id → source reference."""

    def __init__(self) -> None:
        self.records: dict[int, str] | None = None

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        db = context["connection"]
        if self.records is None and db.in_atomic_block and not sql.startswith("SET "):
            with db.connection.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot()")
                exported = cursor.fetchone()[0]
            self.records = records_seen_by(exported, db.settings_dict)
        return result


def records_seen_by(exported: str, database: dict) -> dict[int, str]:
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        dbname=database["NAME"],
    ) as other:
        other.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        other.execute(
            psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(exported))
        )
        rows = other.execute(f"SELECT id, source_ref FROM {CreditRecord._meta.db_table}").fetchall()
    return dict(rows)


def create_firms() -> list[int]:
    home = region(REGION_CODE, name="呼和浩特市")
    firms = Enterprise.objects.bulk_create(
        Enterprise(uscc=uscc(n), name=f"公示物业公司{n:04d}", region=home)
        for n in range(1, FIRMS + 1)
    )
    return [firm.id for firm in firms]


def start_writers(firm_ids: list[int]) -> list[Writer]:
    writers = [Writer(index=index, firm_ids=firm_ids) for index in range(WRITERS)]
    for writer in writers:
        writer.start()
    return writers


def join(writers: list[Writer]) -> None:
    for writer in writers:
        writer.join(120)
        assert not writer.is_alive(), "a writer never finished"
        if writer.failure is not None:
            raise writer.failure


def expected_entry(firm_id: int, visible: set[int], snapshot: Snapshot) -> dict:
    rows = [r for r in CreditRecord.objects.filter(enterprise_id=firm_id) if r.id in visible]
    breakdown = score_enterprise(
        records=[record_input(r) for r in rows],
        rulebook=active_rulebook().rulebook,
        as_of=snapshot.as_of,
        risk=None,
    )
    return {
        "score": breakdown.final_score,
        "grade": breakdown.grade,
        "records": sorted(c.record_id for c in breakdown.contributions if c.counted),
    }


def test_snapshot_published_while_records_are_written(settings):
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0  # records count at once, so scores move
    # Given the records a run without overlap ends with (written first, published after)
    reset_world()
    join(start_writers(create_firms()))
    snapshot_publish(actor=None)
    baseline = take_fingerprint()

    # When the same writers run while a snapshot is being published
    reset_world()
    writers = start_writers(create_firms())
    wait_until(
        lambda: sum(len(w.committed) for w in writers) >= PUBLISH_AFTER_GROUPS,
        "the writers to get going",
    )
    capture = SnapshotCapture()
    with connection.execute_wrapper(capture):
        snapshot = snapshot_publish(actor=None)
    published_at = time.monotonic()
    join(writers)

    # Then the snapshot saw every writer transaction whole or not at all, and some of them
    # committed while it was being made (or this test proved nothing)
    visible = set(capture.records)
    groups: dict[str, set[int]] = {}
    for record_id, source_ref in CreditRecord.objects.values_list("id", "source_ref"):
        groups.setdefault(source_ref.split("/")[0], set()).add(record_id)
    assert sorted(len(ids) for ids in groups.values()) == [2] * WRITERS * GROUPS_PER_WRITER
    assert all(ids <= visible or not ids & visible for ids in groups.values())
    committed_meanwhile = [
        g
        for w in writers
        for g, at in w.committed.items()
        if at < published_at and not groups[g] & visible
    ]
    assert committed_meanwhile, "no write overlapped the publication"
    assert any(ids <= visible for ids in groups.values())

    # and each entry is the score of exactly the records visible to it
    entries = SnapshotEntry.objects.filter(snapshot=snapshot)
    assert entries.count() == FIRMS
    for entry in entries:
        expected = expected_entry(entry.enterprise_id, visible, snapshot)
        assert {
            "score": entry.score,
            "grade": entry.grade,
            "records": sorted(r["id"] for r in entry.records),
        } == expected, entry.uscc

    # and its hash re-computes from its entries
    digest = hashlib.sha256()
    for chunk in snapshot_content_chunks(snapshot):
        digest.update(chunk.encode())
    assert digest.hexdigest() == snapshot.sha256

    # and the records and audit entries are those of the run without overlap
    tables = ("credit.Snapshot", "credit.SnapshotEntry")
    assert_same_end_state(
        baseline.without_tables(*tables), take_fingerprint().without_tables(*tables)
    )
