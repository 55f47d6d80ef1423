"""The province-scale world of the bureau statistics benchmark (issue 17), loaded with COPY.

`load_world(url, staff, WorldParams(...))` fills a migrated PostgreSQL database, whose regions
and staff bench_statistics.py's Django child has written (the product's `seed_regions` and
`staff_upsert`), with 2023-12 .. 2026-11, all drawn from one seeded numpy generator: firms and
compounds in counties with their contracts; `bench_scoring.generate_record_table`'s records
with objections, repairs and blacklist stays; complaints, tasks, monthly plans per league,
inspections and findings; 36 month-end snapshots of every firm. No Django here: large tables
go numpy → binary COPY into a staging table → one `INSERT … SELECT` adding the text; secondary
indexes are dropped for the load and rebuilt after it with the same definitions (as
pg_restore does). Foreign keys, check and unique constraints stay on throughout.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_scoring  # the record generator and the binary COPY writer

from credit.rulebook import load_default_rulebook
from credit.validators import make_uscc

FIRST_MONTH, LAST_MONTH, MONTHS = date(2023, 12, 1), date(2026, 11, 1), 36
EPOCH = date(1970, 1, 1)
FIRST_DAY = (FIRST_MONTH - EPOCH).days
END_DAY = (date(2026, 12, 1) - EPOCH).days  # exclusive: the window is FIRST_DAY .. END_DAY - 1
DAY_S, HOUR_S = 86_400, 3_600
LOCAL_OFFSET_S = 8 * HOUR_S  # Asia/Shanghai has no daylight saving time
END_S = END_DAY * DAY_S - LOCAL_OFFSET_S  # local midnight after the window, as a UTC instant
REGISTERED_AT = "2023-06-01 09:00:00+08"  # registry rows predate the window
PG_DAYS_OFFSET = 10_957  # PostgreSQL's binary dates and instants count from 2000-01-01
# Staging column types → numpy's big-endian layout of PostgreSQL's binary COPY format.
PG_TYPES = {"int8": ">i8", "int4": ">i4", "int2": ">i2", "float8": ">f8", "bool": "?"}
PG_TYPES |= {"date": ">i4", "timestamptz": ">i8", "uuid": "V16", "text18": "S18"}
COMPLAINTS_PER_PROJECT = 150_000 / 400_000  # 150,000 for the province's 400,000 compounds
VISITS_PER_PROJECT = 3.0  # about one inspection per compound per year
BLACKLIST_PER_FIRM = 3_000 / 250_000
VISIT_KINDS, VISIT_KIND_SHARES = (-1, 0, 1, 3), (0.10, 0.70, 0.10, 0.10)  # -1: no task
KINDS = ["routine", "special", "complaint", "followup"]
TASK_STATUSES = ["assigned", "in_progress", "done", "cancelled"]
ASSIGNED, IN_PROGRESS, DONE, CANCELLED = range(4)
ROUTINE, COMPLAINT = 0, 2
SELECTED_BY = ["complaint", "overdue", "model", "ranking", "random"]
MODEL_SELECTION, RANDOM_SELECTION = 2, 4
MODEL_LIVE_FROM_MONTH = 6  # the first six plans ranked without a live model
MODEL_VERSION = "risk-bench-2024-05"
SEVERITY_SHARES = {"minor": 0.60, "ordinary": 0.33, "serious": 0.07}
GRADE_FLOORS = (70, 90, 103, 110)  # the rulebook's grade_bands: C below 70, then B, A, AA, AAA
GRADES = ["C", "B", "A", "AA", "AAA"]
PROJECT_TYPES = ["residential", "office", "mall", "school", "hospital", "public", "hotel"]
PROJECT_TYPES += ["factory"]
PROJECT_SHARES = np.array([70, 8, 5, 5, 4, 4, 2, 2]) / 100
PROJECT_AREAS = 1000 * np.array([(20, 220), (8, 80), (15, 120), (10, 60), (15, 90), (5, 40)])
PROJECT_AREAS = np.concatenate([PROJECT_AREAS, 1000 * np.array([(8, 50), (20, 150)])])
PROJECT_ENDINGS = ["花园", "大厦", "购物中心", "学校", "医院", "政务服务中心", "宾馆", "工业园"]
BRANDS = ["青城", "鹿城", "北疆", "塞北", "敕勒川", "阴山", "黄河", "草原", "天骄", "恒信"]
FORMS = ["物业服务有限公司", "物业管理有限公司", "物业有限责任公司"]
WORDS = ["阳光", "锦绣", "幸福", "和谐", "金色", "碧水", "紫云", "春华", "丽景", "御景"]
ROADS = ["新华大街", "人民路", "建设路", "迎宾路", "团结路", "胜利路", "文化路", "中山路"]
PEOPLE = ["王伟", "李芳", "张敏", "刘静", "陈强", "杨磊", "赵军", "巴特尔", "乌日娜", "苏和"]
COMPLAINT_TOPICS = ["住户反映：楼道长期堆放杂物，存在消防隐患。", "住户反映：电梯频繁停运。"]
COMPLAINT_TOPICS += ["住户反映：垃圾清运不及时。", "住户反映：物业收取未公示的停车费用。"]
REJECTION_COMMENTS = ["照片不能证明所述情况", "现场核实已整改", "不属于物业服务范围", "重复登记"]
# Why a task was given: nothing said, a complaint, or its plan item's selection (SELECTED_BY).
TASK_REASONS = ["[]", '["待核查投诉"]', '["超过12个月未巡查"]', '["模型风险排名靠前"]']
TASK_REASONS += ['["简单排序靠前（风险模型未上线）"]', '["随机抽查"]']


@dataclass(frozen=True)
class WorldParams:
    enterprises: int = 250_000
    records: int = 5_000_000
    projects: int = 400_000
    seed: int = 20261130

    @property
    def complaints(self) -> int:
        return max(10, round(self.projects * COMPLAINTS_PER_PROJECT))

    @property
    def blacklisted(self) -> int:
        return min(self.enterprises, max(5, round(self.enterprises * BLACKLIST_PER_FIRM)))


class Progress:
    """Each step's duration, printed to stderr as it ends (a province load takes a while)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        print(f"[world] {label} …", file=sys.stderr, flush=True)
        yield
        took, total = time.perf_counter() - started, time.perf_counter() - self.started
        self.seconds[label] = round(took, 1)
        print(f"[world] {label}: {took:.1f} s (total {total:.0f} s)", file=sys.stderr, flush=True)


def local_seconds(day, second_of_day) -> np.ndarray:
    """A local (Asia/Shanghai) day and time of day as a UTC instant in Unix seconds."""
    return np.asarray(day, dtype=np.int64) * DAY_S + second_of_day - LOCAL_OFFSET_S


def day_of(instant: np.ndarray) -> np.ndarray:
    return (instant + LOCAL_OFFSET_S) // DAY_S


def day_date(day: int) -> date:  # a Unix day number as a date
    return date.fromordinal(EPOCH.toordinal() + day)


def month_start_days() -> np.ndarray:
    """The first day of each month of the window and of the month after it (37 days)."""
    firsts = [date(2023 + (11 + k) // 12, (11 + k) % 12 + 1, 1) for k in range(MONTHS + 1)]
    return np.array([(d - EPOCH).days for d in firsts], dtype=np.int64)


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**62, size=(n, 2), dtype=np.int64).view("V16").ravel()


def pick_within(rng: np.random.Generator, offsets: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For each `group`, a random position among the members that `offsets` delimits."""
    count = offsets[group + 1] - offsets[group]
    return offsets[group] + (rng.random(len(group)) * count).astype(np.int64)


def arrays(namespace: Mapping) -> dict[str, np.ndarray]:
    """Every array a drawing function made, by name: its columns for `stage` and later steps."""
    return {name: value for name, value in namespace.items() if isinstance(value, np.ndarray)}


def stage(conn: psycopg.Connection, name: str, spec: str, values: Mapping, rows=None) -> None:
    """A temporary table `name` with the columns of `spec` ("column type, …"), filled by binary
    COPY from the arrays of `values` with the same names (often the caller's `locals()`),
    taken at `rows` when given. Dates are Unix day numbers and instants Unix seconds, moved to
    PostgreSQL's origin here; text18 is fixed-width ASCII (a credit code)."""
    columns = [part.split() for part in spec.split(",")]
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    ddl = ", ".join(f"{c} {'text' if t == 'text18' else t}" for c, t in columns)
    conn.execute(f"CREATE TEMPORARY TABLE {name} ({ddl})")
    sent = []
    for column, kind in columns:
        array = np.asarray(values[column])
        array = array if rows is None else array[rows]
        if kind == "date":
            array = array - PG_DAYS_OFFSET
        elif kind == "timestamptz":
            array = (array.astype(np.int64) - PG_DAYS_OFFSET * DAY_S) * 1_000_000
        sent.append((array, PG_TYPES[kind]))
    bench_scoring.copy_binary(conn, name, sent)


@contextlib.contextmanager
def indexes_deferred(conn: psycopg.Connection, table: str) -> Iterator[None]:
    """Drop the table's indexes that back no constraint, load, rebuild them from their saved
    definitions: one sort per index instead of millions of random insertions. Primary keys
    and unique constraints stay, so every row is still checked as it arrives."""
    saved = conn.execute(
        "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c"
        " ON c.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
        (table,),
    ).fetchall()
    for name, _ in saved:
        conn.execute(f'DROP INDEX "{name}"')
    yield
    for _, definition in saved:
        conn.execute(definition)


def at_local(expression: str, clock: str) -> str:
    """SQL for a local date plus a time of day, as an instant."""
    return f"(({expression}) + time '{clock}') AT TIME ZONE 'Asia/Shanghai'"


@dataclass
class Places:
    """What the bench's staff child made (bench_statistics.child_staff), as arrays; counties
    are numbered league by league."""

    league_codes: list[str]
    league_share: np.ndarray
    county_codes: list[str]
    county_seat: np.ndarray  # (lat, lon) per county
    county_league: np.ndarray
    county_offsets: np.ndarray  # counties of league l: county_offsets[l] .. [l + 1]
    inspector_ids: np.ndarray  # StaffProfile ids, ordered by county
    inspector_offsets: np.ndarray
    reviewer_by_league: np.ndarray  # auth user ids
    admin_user_id: int

    @property
    def two_reviewers(self) -> tuple[int, int]:  # one proposes or files, another decides
        return tuple(sorted({int(r) for r in self.reviewer_by_league})[:2])

    @classmethod
    def of(cls, staff: dict) -> Places:
        arrays = {k: v if k.endswith("codes") else np.array(v) for k, v in staff.items()}
        arrays["league_share"] = arrays["league_share"] / arrays["league_share"].sum()
        return cls(**arrays | {"admin_user_id": staff["admin_user_id"]})


# --- registry: firms, compounds, contracts -----------------------------------------------------

FIRMS_SQL = """
INSERT INTO credit_enterprise (id, created_at, updated_at, uscc, name, legal_representative,
    address, region_id, status, managed_area_m2, managed_projects)
SELECT s.pk, %(at)s, %(at)s, s.uscc,
    l.name || (%(brands)s::text[])[s.brand + 1] || s.pk || (%(forms)s::text[])[s.form + 1],
    (%(people)s::text[])[s.person + 1],
    c.name || (%(roads)s::text[])[s.road + 1] || (mod(s.pk, 400) + 1) || '号', c.code,
    (ARRAY['active', 'suspended', 'exited'])[s.status + 1], round(s.area::numeric, 2), s.managed
FROM stage_firms s JOIN credit_region c ON c.code = (%(counties)s::text[])[s.county + 1]
    JOIN credit_region l ON l.code = c.parent_id
"""
FIRMS_SPEC = "pk int8, uscc text18, county int2, status int2, managed int4, area float8"
FIRMS_SPEC += ", brand int2, form int2, person int2, road int2"

PROJECTS_SQL = """
INSERT INTO inspections_project (id, created_at, updated_at, name, address, region_id, lat, lon,
    geofence_m, building_area_m2, project_type, is_old_compound)
SELECT s.pk, %(at)s, %(at)s, (%(words)s::text[])[s.word + 1] || (%(endings)s::text[])[s.kind + 1],
    c.name || (%(roads)s::text[])[s.road + 1] || s.pk || '号', c.code, s.lat, s.lon, 150, s.area,
    (%(types)s::text[])[s.kind + 1], s.old
FROM stage_projects s JOIN credit_region c ON c.code = (%(counties)s::text[])[s.county + 1]
"""  # the address carries the id: (region, name, address) is the compounds' natural key
PROJECTS_SPEC = "pk int8, county int2, kind int2, area float8, lat float8, lon float8, old bool"
PROJECTS_SPEC += ", word int2, road int2"

CONTRACTS_SQL = """
INSERT INTO inspections_managementcontract (created_at, updated_at, enterprise_id, project_id,
    start_date, end_date, by_tender, contract_no)
SELECT %(at)s, %(at)s, firm, project, start_day, CASE WHEN ended THEN end_day END, tender,
    'WY' || lpad(n::text, 7, '0')
FROM stage_contracts
"""
CONTRACTS_SPEC = "n int8, firm int8, project int8, tender bool, start_day date, end_day date"
CONTRACTS_SPEC += ", ended bool"


@dataclass
class Registry:
    project_county: np.ndarray
    project_league: np.ndarray
    project_point: np.ndarray  # (lat, lon) per compound


def load_registry(conn: psycopg.Connection, rng, places: Places, p: WorldParams) -> Registry:
    """Firms in counties weighted by league; each compound in its firm's league around a county
    seat (log-normal firm sizes: a few groups manage hundreds)."""
    firm_league = rng.choice(len(places.league_codes), p.enterprises, p=places.league_share)
    firm_county = pick_within(rng, places.county_offsets, firm_league)
    size = rng.lognormal(0.0, 1.2, p.enterprises)
    home = rng.choice(p.enterprises, p.projects, p=size / size.sum())
    county = pick_within(rng, places.county_offsets, firm_league[home])
    kind = rng.choice(len(PROJECT_TYPES), p.projects, p=PROJECT_SHARES)
    low, high = PROJECT_AREAS[kind].T
    area = np.round((low + rng.random(p.projects) * (high - low)) / 100) * 100
    point = np.round(places.county_seat[county] + rng.normal(0, 0.02, (p.projects, 2)), 6)
    contracts = contract_rows(rng, home, firm_league, p.projects)
    current = contracts["ended"] == 0
    managed = contracts["firm"][current] - 1, contracts["project"][current] - 1
    insert_firms(conn, rng, places, firm_county, managed, area)
    pk, lat, lon = np.arange(1, p.projects + 1), point[:, 0], point[:, 1]
    old = (kind == 0) & (rng.random(p.projects) < 0.3)  # a third of the housing predates 2000
    word, road = rng.integers(0, len(WORDS), p.projects), rng.integers(0, len(ROADS), p.projects)
    stage(conn, "stage_projects", PROJECTS_SPEC, locals())
    texts = {"words": WORDS, "endings": PROJECT_ENDINGS, "roads": ROADS, "types": PROJECT_TYPES}
    conn.execute(PROJECTS_SQL, texts | {"at": REGISTERED_AT, "counties": places.county_codes})
    stage(conn, "stage_contracts", CONTRACTS_SPEC, contracts)
    conn.execute(CONTRACTS_SQL, {"at": REGISTERED_AT})
    return Registry(county, places.county_league[county], point)


def insert_firms(conn: psycopg.Connection, rng, places: Places, county, managed, areas) -> None:
    """Valid credit codes (check character included) and each firm's managed scale as the
    contracts service keeps it: its current contracts' count and building area."""
    n, (firm, project) = len(county), managed
    codes = places.county_codes
    uscc = [make_uscc(region_code=codes[c], serial=700_000_000 + i) for i, c in enumerate(county)]
    uscc, pk = np.array(uscc, dtype="S18"), np.arange(1, n + 1)
    status = rng.choice(3, n, p=[0.95, 0.04, 0.01])
    managed = np.bincount(firm, minlength=n)
    area = np.bincount(firm, weights=areas[project], minlength=n)
    brand, form = rng.integers(0, len(BRANDS), n), rng.integers(0, len(FORMS), n)
    person, road = rng.integers(0, len(PEOPLE), n), rng.integers(0, len(ROADS), n)
    stage(conn, "stage_firms", FIRMS_SPEC, locals())
    texts = {"brands": BRANDS, "forms": FORMS, "people": PEOPLE, "roads": ROADS}
    conn.execute(FIRMS_SQL, texts | {"at": REGISTERED_AT, "counties": codes})


def contract_rows(rng, home: np.ndarray, firm_league: np.ndarray, n: int) -> dict:
    """~85 % of compounds have a current contract with their firm, a quarter of those after a
    change of manager inside the window (the predecessor: another firm of the league); two
    thirds of the rest had a contract that ended in the window."""
    current = rng.random(n) < 0.85
    changed = current & (rng.random(n) < 0.25)
    ended_only = ~current & (rng.random(n) < 2 / 3)
    change_day = rng.integers(FIRST_DAY, END_DAY - 1, n)
    old_start = FIRST_DAY - rng.integers(30, 6 * 365, n)
    by_league = np.argsort(firm_league, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(firm_league))])
    other = by_league[pick_within(rng, offsets, firm_league[home])]
    tender = rng.random(n) < 0.5
    parts = [  # firm, start, ended, which compounds
        (home, np.where(changed, change_day, old_start), False, current),
        (other, change_day - rng.integers(400, 2500, n), True, changed),
        (home, old_start, True, ended_only),
    ]
    project = np.arange(1, n + 1)
    rows = {
        "firm": np.concatenate([firm[which] + 1 for firm, _, _, which in parts]),
        "project": np.concatenate([project[which] for *_, which in parts]),
        "tender": np.concatenate([tender[which] for *_, which in parts]),
        "start_day": np.concatenate([start[which] for _, start, _, which in parts]),
        "end_day": np.concatenate([change_day[which] for *_, which in parts]),
        "ended": np.concatenate([np.full(which.sum(), e) for _, _, e, which in parts]),
    }
    return rows | {"n": np.arange(1, len(rows["firm"]) + 1)}


# --- the credit archive: records, objections, repairs, blacklist -------------------------------


@contextlib.contextmanager
def record_window() -> Iterator[None]:
    """bench_scoring's generator reads its window from module constants (six years before
    2025-06-30); the statistics world needs its records in its own three years."""
    saved = bench_scoring.AS_OF, bench_scoring.HISTORY_DAYS
    bench_scoring.AS_OF, bench_scoring.HISTORY_DAYS = day_date(END_DAY - 1), END_DAY - FIRST_DAY
    try:
        yield
    finally:
        bench_scoring.AS_OF, bench_scoring.HISTORY_DAYS = saved


def load_records(conn: psycopg.Connection, rng, p: WorldParams) -> None:
    rulebook = load_default_rulebook()
    with record_window():
        table = bench_scoring.generate_record_table(
            rng, rulebook, n_enterprises=p.enterprises, n_records=p.records
        )
    with indexes_deferred(conn, "credit_creditrecord"):
        bench_scoring.insert_records(conn, rulebook, table)


# Objections: on every second revoked record (upheld) and ~1 % of the other bad records
# (rejected, or undecided while the record is pending): ~2 % of all records. Repairs: every
# second repaired record (approved) and ~0.4 % of the effective or expired bad records
# (pending or rejected): ~1 %, one per record. Deterministic: hashes of the record ids.
OBJECTIONS_SQL = f"""
WITH picked AS (
    SELECT id, status, decided_at + 1 + mod(h, 3)::int AS filed_on, h,
        CASE WHEN status = 'revoked' THEN 'upheld'
             WHEN status = 'pending' AND mod(h, 10) < 7 THEN '' ELSE 'rejected' END AS decision
    FROM (SELECT *, abs(hashint8extended(id, %(seed)s)) AS h FROM credit_creditrecord) r
    WHERE kind = 'bad' AND ((status = 'revoked' AND mod(h, 2) = 0) OR mod(h, 10000) < 100)
), timed AS (
    SELECT *, {at_local("filed_on", "09:30")} AS filed_at, CASE WHEN decision <> ''
        THEN {at_local("filed_on + 3 + mod(h, 5)::int", "15:00")} END AS decided
    FROM picked
)
INSERT INTO credit_objection (created_at, updated_at, record_id, filed_on, grounds, filed_by_id,
    decision, decision_reason, decided_by_id, decided_at)
SELECT filed_at, coalesce(decided, filed_at), id, filed_on, '企业认为认定事实不清，申请复核。',
    %(filer)s, decision, CASE decision WHEN 'upheld' THEN '经复核，异议成立，撤销该记录。'
        WHEN 'rejected' THEN '经复核，认定事实清楚，维持原认定。' ELSE '' END,
    CASE WHEN decision <> '' THEN %(decider)s END, decided
FROM timed
"""
REPAIRS_SQL = f"""
WITH picked AS (
    SELECT id, CASE WHEN status = 'repaired' THEN 'approved'
                    WHEN mod(h, 10000) < 25 THEN 'pending' ELSE 'rejected' END AS state,
        CASE WHEN status = 'repaired'
             THEN greatest(effective_from, least(ended_on, %(last)s) - 5 - mod(h, 20)::int)
             ELSE least(effective_from + 90 + mod(h, 200)::int, %(last)s) END AS applied_on
    FROM (SELECT *, abs(hashint8extended(id, %(seed)s + 1)) AS h FROM credit_creditrecord) r
    WHERE kind = 'bad' AND ((status = 'repaired' AND mod(h, 2) = 0)
        OR (status IN ('effective', 'expired') AND mod(h, 10000) < 40))
), timed AS (
    SELECT *, {at_local("applied_on", "10:00")} AS applied_at, CASE WHEN state <> 'pending'
        THEN {at_local("least(applied_on + 7, %(last)s)", "16:00")} END AS decided
    FROM picked
)
INSERT INTO credit_repairapplication (created_at, updated_at, record_id, applied_on, evidence,
    registered_by_id, status, decision_reason, approved_by_id, decided_at)
SELECT applied_at, coalesce(decided, applied_at), id, applied_on,
    '已完成整改，附整改报告及现场照片。', %(filer)s, state,
    CASE state WHEN 'approved' THEN '整改到位，准予信用修复。'
        WHEN 'rejected' THEN '整改材料不足，不予修复。' ELSE '' END,
    CASE WHEN state <> 'pending' THEN %(decider)s END, decided
FROM timed
"""


def load_appeals(conn: psycopg.Connection, places: Places, p: WorldParams) -> None:
    filer, decider = places.two_reviewers
    args = {"seed": p.seed, "filer": filer, "decider": decider, "last": day_date(END_DAY - 1)}
    conn.execute(OBJECTIONS_SQL, args)
    conn.execute(REPAIRS_SQL, args)


@dataclass
class Blacklist:
    firm: np.ndarray
    entry: np.ndarray
    exit: np.ndarray
    exited: np.ndarray

    def on(self, day: int, n_firms: int) -> tuple[np.ndarray, np.ndarray]:
        """Which firms are on the list that day, and since when."""
        active = (self.entry <= day) & (~self.exited | (self.exit > day))
        listed, since = np.zeros(n_firms, dtype=bool), np.zeros(n_firms, dtype=np.int64)
        listed[self.firm[active]] = True
        since[self.firm[active]] = self.entry[active]
        return listed, since


AUTHORITY = "内蒙古自治区住房和城乡建设厅"
BLACKLIST_SQL = f"""
INSERT INTO credit_blacklistentry (id, created_at, updated_at, enterprise_id, status, entry_reason,
    proposed_by_id, proposed_at, approved_by_id, approved_at, entry_date, entry_authority,
    entry_document_no, exit_date, exit_reason, exit_authority, exit_document_no)
SELECT pk, {at_local("entry - 10", "10:00")},
    CASE WHEN exited THEN {at_local("exit", "10:00")} ELSE {at_local("entry - 2", "10:00")} END,
    firm + 1, CASE WHEN exited THEN 'exited' ELSE 'active' END,
    '存在严重失信行为，依规列入黑名单。', %(proposer)s, {at_local("entry - 10", "10:00")},
    %(approver)s, {at_local("entry - 2", "10:00")}, entry, '{AUTHORITY}',
    '内建信黑〔' || extract(year FROM entry) || '〕' || pk || '号', CASE WHEN exited THEN exit END,
    CASE WHEN exited THEN '公示期满且整改到位，移出黑名单。' ELSE '' END,
    CASE WHEN exited THEN '{AUTHORITY}' ELSE '' END,
    CASE WHEN exited THEN '内建信移〔' || extract(year FROM exit) || '〕' || pk || '号' ELSE '' END
FROM stage_blacklist
"""

# What each entry cites: the firm's blacklist-rule records first, else its latest bad record.
BASIS_SQL = """
INSERT INTO credit_blacklistentry_basis_records (blacklistentry_id, creditrecord_id)
SELECT DISTINCT ON (b.id) b.id, r.id
FROM credit_blacklistentry b
    JOIN credit_creditrecord r ON r.enterprise_id = b.enterprise_id AND r.kind = 'bad'
ORDER BY b.id, r.blacklist DESC, r.decided_at DESC, r.id
"""


def load_blacklist(conn: psycopg.Connection, rng, places: Places, p: WorldParams) -> Blacklist:
    """Stays that began from mid-2022 on; about half of those long enough ago have ended. The
    proposer and the approver are two different people (blacklist_two_people)."""
    n = p.blacklisted
    entry = rng.integers((date(2022, 6, 1) - EPOCH).days, END_DAY - 1, n)
    exit_day = entry + rng.integers(180, 1000, n)
    exited = (rng.random(n) < 0.5) & (exit_day < END_DAY)
    stays = Blacklist(rng.choice(p.enterprises, n, replace=False), entry, exit_day, exited)
    values = asdict(stays) | {"pk": np.arange(1, n + 1)}
    stage(conn, "stage_blacklist", "pk int8, firm int8, entry date, exit date, exited bool", values)
    proposer, approver = places.two_reviewers
    conn.execute(BLACKLIST_SQL, {"proposer": proposer, "approver": approver})
    return stays


# --- field work: complaints, tasks, inspections, findings, plans -------------------------------


def draw_complaints(rng, n_projects: int, n: int) -> dict[str, np.ndarray]:
    """Received in office hours over the window (ids follow that order), ~90 % visited 1 hour
    to 10 days later; the others wait, or were cancelled as duplicates."""
    hot = rng.lognormal(0.0, 1.0, n_projects)  # some compounds draw many complaints
    project = rng.choice(n_projects, n, p=hot / hot.sum())
    day = rng.integers(FIRST_DAY, END_DAY, n)
    received = np.sort(local_seconds(day, rng.integers(8 * HOUR_S, 20 * HOUR_S, n)))
    started = received + rng.integers(HOUR_S, 10 * DAY_S, n)
    inspected = (rng.random(n) < 0.9) & (started < END_S - 6 * HOUR_S)
    cancelled = ~inspected & (rng.random(n) < 0.05)
    waiting = np.where(rng.random(n) < 0.3, IN_PROGRESS, ASSIGNED)
    status = np.where(inspected, DONE, np.where(cancelled, CANCELLED, waiting))
    finished = started + rng.integers(15 * 60, 2 * HOUR_S, n)
    submitted = finished + rng.integers(0, 3 * HOUR_S, n)
    draft, kind, complaint = np.zeros(n, dtype=bool), np.full(n, COMPLAINT), np.arange(n)
    return arrays(locals())


def draw_visits(rng, n_projects: int, n: int) -> dict[str, np.ndarray]:
    """The other visits: routine (from the plans), special and follow-up checks, a tenth
    without a task; 4 % of tasks not done (open near the end, cancelled before it), and drafts
    not yet submitted in the last two weeks."""
    project = rng.integers(0, n_projects, n)
    day = rng.integers(FIRST_DAY, END_DAY, n)
    started = local_seconds(day, rng.integers(8 * HOUR_S + 1800, 17 * HOUR_S + 1800, n))
    received = started
    kind = rng.choice(VISIT_KINDS, n, p=VISIT_KIND_SHARES)
    undone = (kind >= 0) & (rng.random(n) < 0.04)
    open_status = np.where(rng.random(n) < 0.4, IN_PROGRESS, ASSIGNED)
    status = np.where(undone, np.where(day >= END_DAY - 45, open_status, CANCELLED), DONE)
    inspected = ~undone
    draft = inspected & (day >= END_DAY - 14) & (rng.random(n) < 0.1)
    status = np.where(draft & (kind >= 0), IN_PROGRESS, status)
    finished = started + rng.integers(15 * 60, 2 * HOUR_S, n)
    submitted = finished + rng.integers(0, 3 * HOUR_S, n)
    complaint = np.full(n, -1)
    return arrays(locals())


def assign_plans(rng, reg: Registry, v: dict, n_leagues: int) -> dict:
    """Monthly plans per league: complaint tasks still open when a month starts enter that
    month's plan first, then the league's routine tasks of the month; one item per compound
    and plan (a later routine task of the same compound stays outside the plan)."""
    months = month_start_days()
    is_c = v["complaint"] >= 0
    next_month = np.searchsorted(months, day_of(v["received"]), side="right")
    opens = local_seconds(months[np.minimum(next_month, MONTHS)], 0)
    c_item = is_c & (next_month < MONTHS) & (v["status"] != CANCELLED)
    c_item &= ~v["inspected"] | (v["started"] >= opens)
    month = np.where(is_c, next_month, np.searchsorted(months, day_of(v["started"]), "right") - 1)
    plan = reg.project_league[v["project"]] * MONTHS + np.minimum(month, MONTHS - 1)
    rows = np.flatnonzero(c_item | (v["kind"] == ROUTINE))
    rows = rows[np.argsort(~is_c[rows], kind="stable")]  # complaints win the compound's slot
    key = plan[rows] * len(reg.project_league) + v["project"][rows]
    items = np.sort(rows[np.unique(key, return_index=True)[1]])
    u = rng.random(len(items))
    by_model = np.where(month[items] >= MODEL_LIVE_FROM_MONTH, MODEL_SELECTION, 3)
    selected = np.where(u < 0.15, RANDOM_SELECTION, np.where(u < 0.35, 1, by_model))
    selected = np.where(is_c[items], 0, selected)
    item_plan = plan[items]
    order = np.lexsort((rng.random(len(items)), np.array([0, 1, 2, 2, 3])[selected], item_plan))
    rank = np.empty(len(items), dtype=np.int64)
    rank[order] = np.arange(len(items)) - np.searchsorted(item_plan[order], item_plan[order]) + 1
    per_plan = np.bincount(item_plan, minlength=n_leagues * MONTHS)
    slots = np.bincount(item_plan, selected == RANDOM_SELECTION, n_leagues * MONTHS)
    slots = slots.astype(np.int64)
    league_projects = np.repeat(np.bincount(reg.project_league, minlength=n_leagues), MONTHS)
    pool = np.maximum(league_projects - (per_plan - slots), np.maximum(slots, 1))
    task_plan = np.full(len(v["kind"]), -1)
    routine_items = items[~is_c[items]]
    task_plan[routine_items] = plan[routine_items]
    row_rank, row_selected = np.zeros(len(task_plan), np.int64), np.zeros(len(task_plan), np.int64)
    row_rank[items], row_selected[items] = rank, selected
    inclusion = np.where(selected == RANDOM_SELECTION, slots[item_plan] / pool[item_plan], 1.0)
    probability = np.where(selected == MODEL_SELECTION, rng.beta(2, 8, len(items)), -1.0)
    return arrays(locals())


def task_columns(rng, v: dict, plans: dict, assignee: np.ndarray) -> dict:
    """Every visit with a kind is a task: created when its complaint arrived, when its plan was
    approved (the day before the month starts) or up to two weeks before the visit; ids in
    creation order, `change_seq` in the order of each task's last change."""
    months, n = month_start_days(), len(v["kind"])
    is_c, planned = v["complaint"] >= 0, plans["task_plan"] >= 0
    plan_month = plans["task_plan"] % MONTHS
    approval = local_seconds(months[plan_month] - 1, 10 * HOUR_S)
    ahead = np.where(planned, approval, v["started"] - rng.integers(HOUR_S, 14 * DAY_S, n))
    created = np.where(is_c, v["received"] + rng.integers(300, HOUR_S, n), ahead)
    due = np.where(planned, months[plan_month + 1] - 1, day_of(created) + 14)
    due = np.where(is_c, day_of(v["received"]) + 7, due)
    status = v["status"]
    updated = np.select(
        [status == DONE, status == IN_PROGRESS, status == CANCELLED],
        [
            v["submitted"],
            np.maximum(created, np.minimum(v["started"], END_S - 60)),
            np.maximum(created, np.minimum(created + 2 * DAY_S, END_S - 60)),
        ],
        created,
    )
    rows = np.flatnonzero(v["kind"] >= 0)
    pk, change_seq = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    pk[rows[np.lexsort((rows, created[rows]))]] = np.arange(1, len(rows) + 1)
    change_seq[rows[np.lexsort((pk[rows], updated[rows]))]] = np.arange(1, len(rows) + 1)
    priority = np.where(planned, plans["row_rank"], rng.integers(1, 50, n))
    priority = np.where(is_c, 1, priority)  # complaints jump the queue
    reason = np.where(is_c, 1, np.where(planned, 1 + plans["row_selected"], 0))
    kind, project_id, plan_id = v["kind"], v["project"] + 1, plans["task_plan"] + 1  # 0: none
    return arrays(locals())


TASKS_SQL = """
INSERT INTO inspections_inspectiontask (id, created_at, updated_at, kind, status, project_id,
    assignee_id, due_date, priority_rank, reasons, plan_id, change_seq)
SELECT pk, created, updated, (%(kinds)s::text[])[kind + 1], (%(statuses)s::text[])[status + 1],
    project_id, assignee, due, priority, ((%(reasons)s::text[])[reason + 1])::jsonb,
    NULLIF(plan_id, 0), change_seq
FROM stage_tasks
"""
TASKS_SPEC = "pk int8, kind int2, status int2, project_id int8, assignee int8, due date"
TASKS_SPEC += ", priority int4, reason int2, plan_id int8, created timestamptz"
TASKS_SPEC += ", updated timestamptz, change_seq int8"

PLANS_SQL = """
INSERT INTO inspections_inspectionplan (id, created_at, updated_at, region_id, capacity,
    start_date, due_date, seed, random_share, random_pool, random_slots, model_version,
    approved_by_id)
SELECT pk, created, created, (%(leagues)s::text[])[league + 1], capacity, start_day, due_day,
    seed, 0.15, pool, slots, CASE WHEN live THEN %(model)s ELSE '' END, %(admin)s
FROM stage_plans
"""
PLANS_SPEC = "pk int8, league int2, capacity int4, start_day date, due_day date, seed int8"
PLANS_SPEC += ", pool int4, slots int4, live bool, created timestamptz"

ITEMS_SQL = """
INSERT INTO inspections_planitem (plan_id, project_id, rank, selected_by, inclusion_probability,
    probability, reasons, task_id)
SELECT plan_id, project_id, rank, (%(selected)s::text[])[selected + 1], inclusion,
    CASE WHEN probability >= 0 THEN probability END,
    ((%(reasons)s::text[])[selected + 2])::jsonb, task_id
FROM stage_items
"""
ITEMS_SPEC = "plan_id int8, project_id int8, rank int4, selected int2, inclusion float8"
ITEMS_SPEC += ", probability float8, task_id int8"


def insert_tasks_and_plans(conn: psycopg.Connection, rng, places: Places, t: dict, plans) -> None:
    stage(conn, "stage_tasks", TASKS_SPEC, t, rows=t["rows"])
    with indexes_deferred(conn, "inspections_inspectiontask"):
        args = {"kinds": KINDS, "statuses": TASK_STATUSES, "reasons": TASK_REASONS}
        conn.execute(TASKS_SQL, args)
    months = month_start_days()
    n_plans = len(plans["per_plan"])
    month = np.arange(n_plans) % MONTHS
    pk, league = np.arange(1, n_plans + 1), np.arange(n_plans) // MONTHS
    capacity, pool, slots = np.maximum(plans["per_plan"], 1), plans["pool"], plans["slots"]
    start_day, due_day = months[month], months[month + 1] - 1
    seed, live = rng.integers(1, 2**31, n_plans), month >= MODEL_LIVE_FROM_MONTH
    created = local_seconds(months[month] - 1, 10 * HOUR_S)  # approved the day before
    stage(conn, "stage_plans", PLANS_SPEC, locals())
    args = {"leagues": places.league_codes, "model": MODEL_VERSION}
    conn.execute(PLANS_SQL, args | {"admin": places.admin_user_id})
    items = plans["items"]
    values = plans | {"plan_id": plans["item_plan"] + 1, "task_id": t["pk"][items]}
    stage(conn, "stage_items", ITEMS_SPEC, values | {"project_id": t["project_id"][items]})
    with indexes_deferred(conn, "inspections_planitem"):
        conn.execute(ITEMS_SQL, {"selected": SELECTED_BY, "reasons": TASK_REASONS})


INSPECTIONS_SQL = """
INSERT INTO inspections_inspection (id, created_at, updated_at, uuid, inspector_id, project_id,
    task_id, started_at, finished_at, lat, lon, accuracy_m, note, status, submitted_at,
    body_sha256, submit_sha256)
SELECT pk, started, CASE WHEN sent THEN submitted ELSE finished END, uuid, inspector_id,
    project_id, NULLIF(task_id, 0), started, CASE WHEN sent THEN finished END, lat, lon,
    accuracy, '', CASE WHEN sent THEN 'submitted' ELSE 'draft' END,
    CASE WHEN sent THEN submitted END, md5(uuid::text) || md5(pk::text),
    CASE WHEN sent THEN md5('submit' || uuid::text) || md5('submit' || pk::text) ELSE '' END
FROM stage_inspections
"""
INSPECTIONS_SPEC = "pk int8, uuid uuid, inspector_id int8, project_id int8, task_id int8"
INSPECTIONS_SPEC += ", started timestamptz, finished timestamptz, submitted timestamptz"
INSPECTIONS_SPEC += ", sent bool, lat float8, lon float8, accuracy float8"


def insert_inspections(conn: psycopg.Connection, rng, reg: Registry, v: dict, t: dict):
    """The visits that happened, ids in the order they started; returns their rows of `v`."""
    rows = np.flatnonzero(v["inspected"])
    rows = rows[np.lexsort((rows, v["started"][rows]))]
    n = len(rows)
    point = reg.project_point[v["project"][rows]] + rng.normal(0, 0.0005, (n, 2))
    pk, uuid, lat, lon = np.arange(1, n + 1), uuids(rng, n), point[:, 0], point[:, 1]
    accuracy, sent = np.round(rng.uniform(3, 30, n), 1), ~v["draft"][rows]
    inspector_id, project_id, task_id = t["assignee"][rows], t["project_id"][rows], t["pk"][rows]
    started, finished, submitted = (v[k][rows] for k in ("started", "finished", "submitted"))
    stage(conn, "stage_inspections", INSPECTIONS_SPEC, locals())
    with indexes_deferred(conn, "inspections_inspection"):
        conn.execute(INSPECTIONS_SQL)
    return rows


def draw_findings(rng, places: Places, reg: Registry, v: dict, rows: np.ndarray) -> dict:
    """60 % of submitted inspections clean (45 % of complaint visits), the others with 1 +
    Poisson(0.3) findings reviewed 1 minute to 20 days after: 80 % confirmed, 15 % rejected
    (with a comment), 5 % pending, and pending whenever the review falls after the window."""
    submitted = np.flatnonzero(~v["draft"][rows])  # positions among the inspections
    is_c = v["complaint"][rows[submitted]] >= 0
    with_violation = rng.random(len(submitted)) < np.where(is_c, 0.55, 0.40)
    count = np.where(with_violation, 1 + rng.poisson(0.3, len(submitted)), 0)
    inspection = np.repeat(submitted, count)
    m, inspection_id, pk = len(inspection), inspection + 1, np.arange(1, len(inspection) + 1)
    started, finished = v["started"][rows[inspection]], v["finished"][rows[inspection]]
    observed = started + (rng.random(m) * (finished - started)).astype(np.int64)
    reviewed = observed + rng.integers(60, 20 * DAY_S, m)
    u = rng.random(m)
    status = np.where(reviewed >= END_S, 0, np.where(u < 0.80, 1, np.where(u < 0.95, 2, 0)))
    confirmed_rank = np.where(status == 1, np.cumsum(status == 1), 0)
    project = v["project"][rows[inspection]]
    reviewer_id = places.reviewer_by_league[reg.project_league[project]]
    point = reg.project_point[project] + rng.normal(0, 0.0003, (m, 2))
    lat, lon, uuid = point[:, 0], point[:, 1], uuids(rng, m)
    accuracy = np.round(rng.uniform(3, 30, m), 1)
    codes, _, weights = violation_weights()
    code = rng.choice(len(codes), m, p=weights)
    comment = rng.integers(0, len(REJECTION_COMMENTS), m)
    return arrays(locals())


def violation_weights() -> tuple[list[str], list[str], np.ndarray]:
    """The rulebook's violations, each severity's share spread evenly over its rules."""
    violations = load_default_rulebook().violations
    per_severity = {s: sum(r.severity == s for r in violations) for s in SEVERITY_SHARES}
    weights = np.array([SEVERITY_SHARES[r.severity] / per_severity[r.severity] for r in violations])
    return [r.code for r in violations], [r.title_zh for r in violations], weights / weights.sum()


# A confirmed finding's credit record: the bad records numbered in a seeded order, so each
# confirmation points at a distinct record (they come from bench_scoring's generator, so the
# record's firm and day are not the finding's).
FINDINGS_SQL = """
INSERT INTO inspections_finding (id, created_at, updated_at, uuid, inspection_id, violation_code,
    description, observed_at, lat, lon, accuracy_m, body_sha256, review_status, review_comment,
    reviewed_by_id, reviewed_at, credit_record_id)
SELECT f.pk, f.observed, CASE WHEN f.status = 0 THEN f.observed ELSE f.reviewed END, f.uuid,
    f.inspection_id, (%(codes)s::text[])[f.code + 1],
    '现场发现：' || (%(titles)s::text[])[f.code + 1], f.observed, f.lat, f.lon, f.accuracy,
    md5(f.uuid::text) || md5(f.pk::text), (ARRAY['pending', 'confirmed', 'rejected'])[f.status + 1],
    CASE WHEN f.status = 2 THEN (%(comments)s::text[])[f.comment + 1] ELSE '' END,
    CASE WHEN f.status > 0 THEN f.reviewer_id END, CASE WHEN f.status > 0 THEN f.reviewed END,
    r.id
FROM stage_findings f LEFT JOIN (
    SELECT id, row_number() OVER (ORDER BY hashint8extended(id, %(seed)s)) AS n
    FROM credit_creditrecord WHERE kind = 'bad'
) r ON r.n = f.confirmed_rank
"""
FINDINGS_SPEC = "pk int8, uuid uuid, inspection_id int8, code int2, observed timestamptz"
FINDINGS_SPEC += ", lat float8, lon float8, accuracy float8, status int2, reviewed timestamptz"
FINDINGS_SPEC += ", reviewer_id int8, comment int2, confirmed_rank int8"

COMPLAINTS_SQL = """
INSERT INTO inspections_complaint (id, created_at, updated_at, project_id, text, received_at,
    registered_by_id, task_id, outcome, credit_record_id)
SELECT pk, received, updated, project_id, (%(topics)s::text[])[topic + 1], received,
    registered_by, task_id, (ARRAY['open', 'confirmed', 'unfounded'])[outcome + 1], NULL
FROM stage_complaints
"""
COMPLAINTS_SPEC = "pk int8, project_id int8, received timestamptz, updated timestamptz"
COMPLAINTS_SPEC += ", registered_by int8, task_id int8, outcome int2, topic int2"


def insert_complaints(conn: psycopg.Connection, rng, places, reg, work: tuple) -> None:
    """A visited complaint is confirmed when a finding of its visit was, open while one is
    pending (or the visit is a draft), else unfounded; a complaint not visited is open."""
    v, t, rows, f = work
    confirmed = np.bincount(f["inspection"], f["status"] == 1, minlength=len(rows)) > 0
    pending = np.bincount(f["inspection"], f["status"] == 0, minlength=len(rows)) > 0
    visited = np.flatnonzero(v["complaint"][rows] >= 0)  # positions among the inspections
    verdict = np.where(confirmed[visited], 1, np.where(pending[visited], 0, 2))
    outcome = np.zeros(len(v["kind"]), dtype=np.int64)  # by row of `v`; complaints come first
    outcome[rows[visited]] = np.where(v["draft"][rows[visited]], 0, verdict)
    pk, project_id, task_id, received = v["complaint"] + 1, t["project_id"], t["pk"], v["received"]
    updated = np.maximum(received, t["updated"])
    registered_by = places.reviewer_by_league[reg.project_league[v["project"]]]
    topic = rng.integers(0, len(COMPLAINT_TOPICS), len(v["kind"]))
    stage(conn, "stage_complaints", COMPLAINTS_SPEC, locals(), rows=v["complaint"] >= 0)
    conn.execute(COMPLAINTS_SQL, {"topics": COMPLAINT_TOPICS})


def load_work(conn, rng, places: Places, reg: Registry, p: WorldParams, progress) -> None:
    n_projects = len(reg.project_league)
    complaints = draw_complaints(rng, n_projects, p.complaints)
    others = round(n_projects * VISITS_PER_PROJECT) - int(complaints["inspected"].sum())
    visits = draw_visits(rng, n_projects, max(others, 1))
    shared = complaints.keys() & visits.keys()  # the visits' columns (not the draws' helpers)
    v = {key: np.concatenate([complaints[key], visits[key]]) for key in shared}
    plans = assign_plans(rng, reg, v, len(places.league_codes))
    county = reg.project_county[v["project"]]
    assignee = places.inspector_ids[pick_within(rng, places.inspector_offsets, county)]
    t = task_columns(rng, v, plans, assignee)
    with progress.step("tasks, plans and plan items"):
        insert_tasks_and_plans(conn, rng, places, t, plans)
    with progress.step("inspections"):
        rows = insert_inspections(conn, rng, reg, v, t)
    with progress.step("findings"):
        f = draw_findings(rng, places, reg, v, rows)
        stage(conn, "stage_findings", FINDINGS_SPEC, f)
        codes, titles, _ = violation_weights()
        args = {"codes": codes, "titles": titles, "comments": REJECTION_COMMENTS, "seed": p.seed}
        with indexes_deferred(conn, "inspections_finding"):
            conn.execute(FINDINGS_SQL, args)
    with progress.step("complaints"):
        insert_complaints(conn, rng, places, reg, (v, t, rows, f))


SNAPSHOTS_SQL = f"""
INSERT INTO credit_snapshot (id, published_at, as_of, sha256, rulebook_version, rulebook_sha256,
    model_version, enterprises, published_by)
SELECT s.pk, {at_local("s.as_of + 1", "02:00")}, s.as_of,
    md5('snapshot' || s.pk) || md5(s.pk || 'snapshot'), r.version, r.sha256,
    CASE WHEN s.live THEN %(model)s ELSE '' END, %(firms)s, 'system'
FROM stage_snapshots s
    CROSS JOIN (SELECT version, sha256 FROM credit_rulebookversion WHERE is_active) r
"""

ENTRIES_SQL = """
INSERT INTO credit_snapshotentry (snapshot_id, enterprise_id, uscc, name, region_code, grade,
    score, rule_score, model_adjustment, blacklisted, blacklist_reason, blacklist_since,
    is_backbone, has_effective_serious, tender_benefit_codes, reasons, records)
SELECT %(snapshot)s, e.id, e.uscc, e.name, e.region_id, (%(grades)s::text[])[s.grade + 1],
    s.score / 100.0, (s.score - s.adjustment) / 100.0, s.adjustment / 100.0, s.listed,
    CASE WHEN s.listed THEN '存在严重失信行为，依规列入黑名单。' ELSE '' END,
    CASE WHEN s.listed THEN s.since END, false, s.serious, '[]', '[]', '[]'
FROM stage_entries s JOIN credit_enterprise e ON e.id = s.enterprise_id
"""
ENTRIES_SPEC = "enterprise_id int8, score int4, adjustment int4, grade int2, listed bool"
ENTRIES_SPEC += ", since date, serious bool"


def load_snapshots(conn: psycopg.Connection, rng, blacklist: Blacklist, p: WorldParams) -> None:
    """One snapshot on the last day of each month. Each firm's score is its own level plus an
    AR(1) drift (a grade moves slowly), capped at 60 (grade C) while it is blacklisted."""
    as_of = month_start_days()[1:] - 1
    pk, live = np.arange(1, MONTHS + 1), np.arange(MONTHS) >= MODEL_LIVE_FROM_MONTH
    stage(conn, "stage_snapshots", "pk int8, as_of date, live bool", locals())
    conn.execute(SNAPSHOTS_SQL, {"model": MODEL_VERSION, "firms": p.enterprises})
    n = p.enterprises
    level, drift, enterprise_id = rng.normal(93, 9, n), rng.normal(0, 4, n), np.arange(1, n + 1)
    ever_serious = rng.random(n) < 0.03
    with indexes_deferred(conn, "credit_snapshotentry"):
        for month in range(MONTHS):
            drift = 0.9 * drift + rng.normal(0, 1.8, n)
            listed, since = blacklist.on(int(as_of[month]), n)
            raw = np.where(listed, np.minimum(level + drift, 60), level + drift)
            score, grade = np.round(raw * 100), np.searchsorted(GRADE_FLOORS, raw, side="right")
            adjustment = np.clip(np.round(rng.normal(0, 150, n)), -500, 500)
            since, serious = np.where(listed, since, as_of[month]), ever_serious | listed
            stage(conn, "stage_entries", ENTRIES_SPEC, locals())
            conn.execute(ENTRIES_SQL, {"snapshot": month + 1, "grades": GRADES})
            if month % 6 == 5:
                print(f"[world]   snapshot {month + 1}/{MONTHS}", file=sys.stderr, flush=True)


EXPLICIT_ID_TABLES = ("credit_enterprise", "inspections_project", "inspections_inspectiontask")
EXPLICIT_ID_TABLES += ("inspections_inspection", "inspections_finding", "inspections_complaint")
EXPLICIT_ID_TABLES += ("inspections_inspectionplan", "credit_blacklistentry", "credit_snapshot")


def finish(conn: psycopg.Connection) -> None:
    """Sequences past the explicit ids (the product inserts after us), the task feed's head at
    the last change_seq, and what each blacklist entry cites."""
    for table in EXPLICIT_ID_TABLES:
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" greatest(1, (SELECT coalesce(max(id), 0) FROM {table})))"
        )
    conn.execute(
        "INSERT INTO inspections_taskfeedhead (id, seq) SELECT 1, coalesce(max(change_seq), 0)"
        " FROM inspections_inspectiontask ON CONFLICT (id) DO UPDATE"
        " SET seq = greatest(inspections_taskfeedhead.seq, EXCLUDED.seq)"
    )
    conn.execute(BASIS_SQL)


def load_world(url: str, staff: dict, p: WorldParams) -> dict:
    """Fill the migrated database at `url`, whose regions and staff `staff` describes."""
    progress = Progress()
    rng = np.random.default_rng(p.seed)
    places = Places.of(staff)
    with psycopg.connect(url, autocommit=True) as conn:
        # Index rebuilds and the sorts of the INSERT … SELECTs want memory, not temp files.
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        with progress.step("firms, compounds, contracts"):
            reg = load_registry(conn, rng, places, p)
        with progress.step("credit records (bench_scoring)"):
            load_records(conn, rng, p)
        with progress.step("objections and repair applications"):
            load_appeals(conn, places, p)
        load_work(conn, rng, places, reg, p, progress)
        with progress.step("blacklist"):
            blacklist = load_blacklist(conn, rng, places, p)
        with progress.step("snapshots and their entries"):
            load_snapshots(conn, rng, blacklist, p)
        with progress.step("sequences, task feed head, blacklist basis, ANALYZE entries"):
            finish(conn)
            conn.execute("ANALYZE credit_snapshotentry")  # as a publish finds it: table known
    return {
        "params": asdict(p) | {"complaints": p.complaints, "blacklisted": p.blacklisted},
        "window": f"{FIRST_MONTH:%Y-%m}..{LAST_MONTH:%Y-%m}",
        "copy_seconds": round(time.perf_counter() - progress.started, 1),
        "copy_steps_seconds": progress.seconds,
    }


def settle(url: str) -> None:
    """What autovacuum would leave (statistics, visibility map, hint bits), before any timing."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")
