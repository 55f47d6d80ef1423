"""Reads of the credit archive that are more than one line."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from credit.models import (
    BackboneDesignation,
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    EnterpriseScore,
    Objection,
    RecordKind,
    RecordStatus,
    Region,
    RepairApplication,
    RulebookVersion,
    Snapshot,
    SnapshotEntry,
)
from credit.rulebook import Rulebook, load_default_rulebook, parse_rulebook
from credit.scoring import BackboneCandidacy, backbone_candidacy
from credit.validators import normalise_uscc

ERR_UNKNOWN_RULEBOOK = "rulebook version {version!r} is neither stored nor the default"


@dataclass(frozen=True)
class ActiveRulebook:
    version: str
    rulebook: Rulebook


@lru_cache(maxsize=16)
def _parsed_rulebook(version: str, sha256: str) -> Rulebook:
    # Keyed by content hash as well as version: a stored version is never edited, but a test
    # database may be rebuilt with different content under the same name.
    content = RulebookVersion.objects.values_list("content", flat=True).get(
        version=version, sha256=sha256
    )
    return parse_rulebook(content)


def active_rulebook() -> ActiveRulebook:
    """The rulebook new records and scores use: the active stored version, else the default file
    (a fresh database before `load_rulebook`, or a test database flushed of its data)."""
    row = RulebookVersion.objects.filter(is_active=True).values_list("version", "sha256").first()
    rulebook = _parsed_rulebook(*row) if row else load_default_rulebook()
    return ActiveRulebook(version=rulebook.version, rulebook=rulebook)


@lru_cache(maxsize=16)
def rulebook_for_version(version: str) -> Rulebook:
    """The rulebook a snapshot or record names (tender terms are computed under it). Cached:
    a stored version is never edited."""
    row = RulebookVersion.objects.filter(version=version).values_list("version", "sha256").first()
    if row:
        return _parsed_rulebook(*row)
    default = load_default_rulebook()
    if default.version == version:
        return default
    raise LookupError(ERR_UNKNOWN_RULEBOOK.format(version=version))


def latest_snapshot() -> Snapshot | None:
    return Snapshot.objects.order_by("-as_of", "-id").first()


def snapshot_by_id(snapshot_id: int) -> Snapshot | None:
    return Snapshot.objects.filter(pk=snapshot_id).first()


def snapshot_ref(snapshot_id: int) -> Snapshot:
    """Only what names a snapshot in an answer (id, publication time, hash)."""
    return Snapshot.objects.only("id", "published_at", "sha256").get(pk=snapshot_id)


# Hot path of the tender API. Published snapshots never change, so an entry read once can be
# served from memory for as long as its snapshot is the latest; which one is the latest is
# re-read at most once a second per process (CREDIT_LATEST_SNAPSHOT_TTL_S), so a publication
# reaches every web process within that time. 65,536 entries ≈ 100 MB at most per process.
LATEST_SNAPSHOT_TTL_S = 1.0
ENTRY_CACHE_SIZE = 65_536
_latest_lock = threading.Lock()
_latest_seen: list = [0.0, None]  # [monotonic time read, snapshot id or None]


def latest_snapshot_id() -> int | None:
    ttl = getattr(settings, "CREDIT_LATEST_SNAPSHOT_TTL_S", LATEST_SNAPSHOT_TTL_S)
    now = time.monotonic()
    with _latest_lock:
        if ttl > 0 and now - _latest_seen[0] < ttl:
            return _latest_seen[1]
    latest = Snapshot.objects.order_by("-as_of", "-id").values_list("id", flat=True).first()
    with _latest_lock:
        _latest_seen[:] = [now, latest]
    return latest


@lru_cache(maxsize=ENTRY_CACHE_SIZE)
def _entry(snapshot_id: int, uscc: str) -> SnapshotEntry | None:
    return (
        SnapshotEntry.objects.select_related("snapshot")
        .filter(snapshot_id=snapshot_id, uscc=uscc)
        .first()
    )


def latest_entry(*, uscc: str) -> SnapshotEntry | None:
    """The enterprise's entry in the latest snapshot, with its snapshot; None when the
    enterprise is not in it or nothing is published. Treat the result as read-only."""
    snapshot_id = latest_snapshot_id()
    return None if snapshot_id is None else _entry(snapshot_id, uscc)


# Things derived from one snapshot (rendered answers, chart data): a published snapshot never
# changes, so they stay right for as long as it is the latest. One dict per process, replaced
# when another snapshot becomes the latest and emptied when it reaches SNAPSHOT_MEMO_SIZE keys.
SNAPSHOT_MEMO_SIZE = 65_536
_memo: tuple[int | None, dict] = (None, {})  # rebound whole, so never seen half-updated


def snapshot_memo(snapshot_id: int) -> dict:
    """The per-process memo of `snapshot_id`. Callers only get and set keys (atomic under the
    GIL), and must key by everything else their value depends on."""
    global _memo
    memo_id, memo = _memo
    if memo_id != snapshot_id or len(memo) >= SNAPSHOT_MEMO_SIZE:
        memo = {}
        _memo = (snapshot_id, memo)
    return memo


def clear_snapshot_caches() -> None:
    """Forget cached entries, memos and the latest snapshot id (after a publication in this
    process, and between tests whose rolled-back databases reuse ids)."""
    global _memo
    _entry.cache_clear()
    rulebook_for_version.cache_clear()
    _memo = (None, {})
    with _latest_lock:
        _latest_seen[:] = [0.0, None]


# What a tender look-up shows of an entry: not its records, the heaviest column.
STANDING_FIELDS = (
    "uscc",
    "name",
    "grade",
    "score",
    "rule_score",
    "model_adjustment",
    "blacklisted",
    "blacklist_reason",
)


def entry_standing(*, snapshot_id: int, uscc: str) -> dict | None:
    """Those fields as a dict; (snapshot, uscc) is unique, so no ordering is needed."""
    rows = SnapshotEntry.objects.filter(snapshot_id=snapshot_id, uscc=uscc).values(*STANDING_FIELDS)
    return next(iter(rows[:1]), None)


def snapshot_entry(*, snapshot: Snapshot, uscc: str) -> SnapshotEntry | None:
    return SnapshotEntry.objects.filter(snapshot=snapshot, uscc=uscc).first()


def snapshot_entries_by_uscc(*, snapshot: Snapshot, usccs: list[str]) -> dict[str, SnapshotEntry]:
    return {e.uscc: e for e in SnapshotEntry.objects.filter(snapshot=snapshot, uscc__in=usccs)}


# What the public lists may filter by (the search's `list`): the blacklist, the red list.
LIST_BLACKLIST, LIST_REDLIST = "blacklist", "redlist"
REDLIST_GRADE = "AAA"
# What a result row shows of an entry.
ROW_FIELDS = ("uscc", "name", "region_code", "grade", "score", "blacklisted", "blacklist_since")


def snapshot_search(
    *, snapshot: Snapshot, query: str, region: str = "", grade: str = "", listing: str = ""
) -> QuerySet[SnapshotEntry]:
    """The public search: a full code finds that firm, letters and digits a code prefix,
    anything else a part of the name; an empty query every firm. `region` (a 盟市 or 旗县
    code) keeps the firms registered in it, `grade` those shown with that grade (blacklisted
    firms are shown as such, not by grade), `listing` the blacklist or the red list. Only the
    columns a result row shows are read."""
    entries = SnapshotEntry.objects.filter(snapshot=snapshot).only(*ROW_FIELDS)
    if region:
        entries = entries.filter(region_code__startswith=_region_prefix(region))
    if grade:
        entries = entries.filter(grade=grade, blacklisted=False)
    if listing == LIST_BLACKLIST:
        entries = entries.filter(blacklisted=True)
    elif listing == LIST_REDLIST:
        entries = entries.filter(grade=REDLIST_GRADE, blacklisted=False)
    if not query:
        return entries.order_by("name", "uscc")
    try:
        return entries.filter(uscc=normalise_uscc(query)).order_by("uscc")
    except ValueError:
        pass
    if query.isalnum() and query.isascii():
        return entries.filter(uscc__startswith=query.upper()).order_by("uscc")
    return entries.filter(name__icontains=query).order_by("name", "uscc")


def _region_prefix(code: str) -> str:
    # GB/T 2260: a 盟市 (……00) holds every code that starts with its first four digits.
    return code[:4] if len(code) == 6 and code.endswith("00") else code


def snapshot_blacklisted(*, snapshot: Snapshot) -> QuerySet[SnapshotEntry]:
    """The published blacklist, most recent entries first (the columns a list shows)."""
    entries = SnapshotEntry.objects.filter(snapshot=snapshot, blacklisted=True)
    return entries.only(*ROW_FIELDS, "blacklist_reason").order_by("-blacklist_since", "name")


def snapshot_redlist(*, snapshot: Snapshot) -> QuerySet[SnapshotEntry]:
    """The published red list: grade AAA and not blacklisted, best scores first."""
    entries = SnapshotEntry.objects.filter(
        snapshot=snapshot, grade=REDLIST_GRADE, blacklisted=False
    )
    return entries.only(*ROW_FIELDS).order_by("-score", "name")


# Rows fetched at a time when a whole snapshot is streamed (open data).
STREAM_CHUNK = 2000


def snapshot_entries_in_order(*, snapshot: Snapshot) -> Iterator[SnapshotEntry]:
    """Every entry of the snapshot by code, read in chunks (bounded memory)."""
    entries = SnapshotEntry.objects.filter(snapshot=snapshot).order_by("uscc")
    return entries.iterator(chunk_size=STREAM_CHUNK)


@dataclass(frozen=True)
class PublicState:
    grade: str
    eligible: bool
    blacklisted: bool


@dataclass(frozen=True)
class SnapshotChange:
    uscc: str
    name: str
    before: PublicState | None  # None: not in the older snapshot
    after: PublicState | None  # None: no longer in the newer snapshot


def _states(snapshot: Snapshot) -> dict[str, tuple[str, PublicState]]:
    rows = SnapshotEntry.objects.filter(snapshot=snapshot).values_list(
        "uscc", "name", "grade", "blacklisted"
    )
    return {
        uscc: (name, PublicState(grade=grade, eligible=not black, blacklisted=black))
        for uscc, name, grade, black in rows
    }


def snapshot_changes(*, newer: Snapshot, older: Snapshot) -> list[SnapshotChange]:
    """Enterprises whose grade, eligibility or blacklist status differ between two snapshots."""
    before, after = _states(older), _states(newer)
    changes = []
    for uscc in sorted(before.keys() | after.keys()):
        old, new = before.get(uscc), after.get(uscc)
        if old is not None and new is not None and old[1] == new[1]:
            continue
        name = (new or old)[0]
        changes.append(
            SnapshotChange(
                uscc=uscc,
                name=name,
                before=old[1] if old else None,
                after=new[1] if new else None,
            )
        )
    return changes


@dataclass(frozen=True)
class ScorePoint:
    as_of: date
    score: Decimal
    grade: str
    blacklisted: bool


def score_history(*, uscc: str, since: date | None = None) -> list[ScorePoint]:
    """One point per snapshot day (the last snapshot of a day wins), oldest first."""
    rows = SnapshotEntry.objects.filter(uscc=uscc)
    if since is not None:
        rows = rows.filter(snapshot__as_of__gte=since)
    by_day: dict[date, ScorePoint] = {}
    for as_of, score, grade, black in rows.order_by("snapshot__as_of", "snapshot_id").values_list(
        "snapshot__as_of", "score", "grade", "blacklisted"
    ):
        by_day[as_of] = ScorePoint(as_of=as_of, score=score, grade=grade, blacklisted=black)
    return list(by_day.values())


def enterprises_in_scope(scope: Q) -> QuerySet[Enterprise]:
    return Enterprise.objects.filter(scope)


def enterprise_search(*, scope: Q, query: str = "") -> QuerySet[Enterprise]:
    """Enterprises in `scope` with their current score, by name; a query keeps those whose
    name contains it or whose code starts with it."""
    enterprises = enterprises_in_scope(scope).select_related("credit_score")
    if query:
        enterprises = enterprises.filter(name__icontains=query) | enterprises.filter(
            uscc__startswith=query.upper()
        )
    return enterprises.order_by("name")


def enterprise_score(*, enterprise_id: int) -> EnterpriseScore | None:
    return EnterpriseScore.objects.filter(pk=enterprise_id).first()


def record_source_exists(*, source: str, source_ref: str) -> bool:
    """Whether a record of this source and reference exists (creating it again returns it)."""
    return CreditRecord.objects.filter(source=source, source_ref=source_ref).exists()


def records_of(*, enterprise: Enterprise) -> QuerySet[CreditRecord]:
    return (
        CreditRecord.objects.filter(enterprise=enterprise)
        .select_related("objection")
        .prefetch_related("repairs")
        .order_by("-decided_at", "-id")
    )


def counting_blacklist_records(*, enterprise_id: int, as_of: date) -> QuerySet[CreditRecord]:
    """Effective records whose rule leads to the blacklist, counting on `as_of`."""
    return CreditRecord.objects.filter(
        enterprise_id=enterprise_id,
        kind=RecordKind.BAD,
        blacklist=True,
        status=RecordStatus.EFFECTIVE,
        effective_from__lte=as_of,
        effective_until__gt=as_of,
    )


def open_blacklist_entry(*, enterprise_id: int) -> BlacklistEntry | None:
    return (
        BlacklistEntry.objects.filter(
            enterprise_id=enterprise_id,
            status__in=[BlacklistStatus.PROPOSED, BlacklistStatus.ACTIVE],
        )
        .order_by("-proposed_at")
        .first()
    )


def blacklist_proposals(*, scope: Q | None = None) -> QuerySet[BlacklistEntry]:
    """Open proposals, oldest first; `scope` filters on the enterprise (`enterprise__…`)."""
    proposals = BlacklistEntry.objects.filter(status=BlacklistStatus.PROPOSED)
    if scope is not None:
        proposals = proposals.filter(scope)
    return (
        proposals.select_related("enterprise", "proposed_by")
        .prefetch_related("basis_records")
        .order_by("proposed_at")
    )


def blacklist_basis_ids(*, entry: BlacklistEntry) -> list[int]:
    """The ids of the records an entry rests on, ascending."""
    return sorted(entry.basis_records.values_list("id", flat=True))


def is_backbone(*, enterprise_id: int, as_of: date) -> bool:
    return (
        BackboneDesignation.objects.filter(enterprise_id=enterprise_id, designated_on__lte=as_of)
        .filter(Q(ended_on__isnull=True) | Q(ended_on__gt=as_of))
        .exists()
    )


@dataclass(frozen=True)
class BackboneCandidate:
    enterprise: Enterprise
    score: EnterpriseScore
    candidacy: BackboneCandidacy


def backbone_candidates(*, scope: Q | None = None) -> list[BackboneCandidate]:
    """Enterprises the rulebook's scale, grade and record criteria propose as backbone firms and
    that are not designated yet (clause 十七: the bureau decides, the system only proposes)."""
    rulebook = active_rulebook().rulebook
    config = rulebook.backbone_candidate
    designated = BackboneDesignation.objects.filter(ended_on__isnull=True).values("enterprise_id")
    scores = (
        EnterpriseScore.objects.select_related("enterprise")
        .exclude(enterprise_id__in=designated)
        .filter(
            Q(enterprise__managed_area_m2__gte=config.min_managed_area_m2)
            | Q(enterprise__managed_projects__gte=config.min_project_count)
        )
        .exclude(grade="")
    )
    if scope is not None:
        scores = scores.filter(enterprise__in=Enterprise.objects.filter(scope))
    candidates = []
    for score in scores.order_by("-enterprise__managed_area_m2"):
        candidacy = backbone_candidacy(
            managed_area_m2=score.enterprise.managed_area_m2,
            project_count=score.enterprise.managed_projects,
            grade=score.grade,
            has_effective_serious=score.has_effective_serious,
            blacklisted=score.blacklisted,
            rulebook=rulebook,
        )
        if candidacy.candidate:
            candidates.append(BackboneCandidate(score.enterprise, score, candidacy))
    return candidates


# --- the credit report (credit/report.py) -------------------------------------------------


@dataclass(frozen=True)
class RegistryFacts:
    """What the registry says of a firm today, beside its published standing (the legal
    representative as on the business licence)."""

    legal_representative: str
    status: str  # EnterpriseStatus value
    address: str = ""
    # Scale from the compounds under contract today, kept current by the inspections app
    # (credit.services.enterprise_scales_update).
    managed_projects: int = 0
    managed_area_m2: Decimal = Decimal(0)


@dataclass(frozen=True)
class EnterpriseRegistration(RegistryFacts):
    """The registry facts with the names of the registration region: printed on the credit
    report."""

    region_names: tuple[str, ...] = ()  # 盟市 first, down to the registration region


def _ancestor_codes(code: str) -> set[str]:
    # GB/T 2260: a region's 盟市 is its first four digits and 00, its 旗县 its first six,
    # its 苏木乡镇 its first nine.
    return {code[:4] + "00", code[:6], code[:9], code}


def region_names(*, code: str) -> tuple[str, ...]:
    """The names of a region and the regions above it, 盟市 first; the codes not stored are
    left out (an empty tuple for an unknown code)."""
    rows = Region.objects.filter(code__in=_ancestor_codes(code)).order_by("level", "code")
    return tuple(rows.values_list("name", flat=True))


def registry_facts(*, enterprise_id: int) -> RegistryFacts:
    """One query."""
    legal, status, projects, area, address = Enterprise.objects.values_list(
        "legal_representative", "status", "managed_projects", "managed_area_m2", "address"
    ).get(pk=enterprise_id)
    return RegistryFacts(
        legal_representative=legal,
        status=status,
        managed_projects=projects,
        managed_area_m2=area,
        address=address,
    )


def enterprise_registration(*, enterprise_id: int, region_code: str) -> EnterpriseRegistration:
    """The registration facts of the report; `region_code` is the one the snapshot published."""
    facts = registry_facts(enterprise_id=enterprise_id)
    return EnterpriseRegistration(**asdict(facts), region_names=region_names(code=region_code))


@dataclass(frozen=True)
class RecordAppeal:
    """Where an objection and a repair application against one record stand today: the
    objection's decision ("" while undecided, None without one) and the latest repair
    application's RepairStatus value (None without one), with their dates."""

    objection_filed_on: date | None = None
    objection_decision: str | None = None
    objection_decided_on: date | None = None
    repair_applied_on: date | None = None
    repair_status: str | None = None
    repair_decided_on: date | None = None


def record_appeals(*, record_ids: list[int]) -> dict[int, RecordAppeal]:
    """The objection and latest repair application of each record that has either; two
    queries whatever the number of records."""
    appeals: dict[int, dict] = {}
    objections = Objection.objects.filter(record_id__in=record_ids).values_list(
        "record_id", "filed_on", "decision", "decided_at"
    )
    for record_id, filed_on, decision, decided_at in objections:
        appeals.setdefault(record_id, {}).update(
            objection_filed_on=filed_on,
            objection_decision=decision,
            objection_decided_on=_local_day(decided_at),
        )
    repairs = RepairApplication.objects.filter(record_id__in=record_ids).order_by(
        "record_id", "applied_on", "id"
    )
    for record_id, applied_on, status, decided_at in repairs.values_list(
        "record_id", "applied_on", "status", "decided_at"
    ):  # ascending: the latest application of a record is written last
        appeals.setdefault(record_id, {}).update(
            repair_applied_on=applied_on,
            repair_status=status,
            repair_decided_on=_local_day(decided_at),
        )
    return {record_id: RecordAppeal(**fields) for record_id, fields in appeals.items()}


def _local_day(moment) -> date | None:
    return None if moment is None else timezone.localtime(moment).date()


# --- the public portal (credit/views.py) ----------------------------------------------------


def latest_published() -> Snapshot | None:
    """The latest snapshot, read once per process while it stays the latest (which one that is
    is re-read at most every CREDIT_LATEST_SNAPSHOT_TTL_S)."""
    snapshot_id = latest_snapshot_id()
    if snapshot_id is None:
        return None
    memo = snapshot_memo(snapshot_id)
    snapshot = memo.get("snapshot")
    if snapshot is None:
        snapshot = memo["snapshot"] = Snapshot.objects.get(pk=snapshot_id)
    return snapshot


@dataclass(frozen=True)
class SnapshotFigures:
    """The headline figures of a snapshot. `by_grade` counts the firms shown with each grade
    (best first); blacklisted firms are counted apart, as the pages show them."""

    enterprises: int
    by_grade: tuple[tuple[str, int], ...]
    blacklisted: int
    redlist: int


def snapshot_figures(*, snapshot: Snapshot, grades: tuple[str, ...]) -> SnapshotFigures:
    """One aggregate query whatever the number of firms."""
    counts: dict[str, int] = dict.fromkeys(grades, 0)
    blacklisted = 0
    rows = (
        SnapshotEntry.objects.filter(snapshot=snapshot)
        .values_list("grade", "blacklisted")
        .annotate(n=Count("id"))
        .order_by()
    )
    for grade, black, n in rows:
        if black:
            blacklisted += n
        else:
            counts[grade] = counts.get(grade, 0) + n
    return SnapshotFigures(
        enterprises=sum(counts.values()) + blacklisted,
        by_grade=tuple(counts.items()),
        blacklisted=blacklisted,
        redlist=counts.get(REDLIST_GRADE, 0),
    )


@dataclass(frozen=True)
class RegionOption:
    code: str
    name: str


@dataclass(frozen=True)
class SnapshotRegions:
    """Where the snapshot's firms are registered: each registration code's name (盟市 first,
    e.g. 呼和浩特市新城区) and the 盟市 to filter by, by code."""

    names: dict[str, str]
    leagues: tuple[RegionOption, ...]


def snapshot_regions(*, snapshot: Snapshot) -> SnapshotRegions:
    """Two queries: the snapshot's registration codes, and the regions they name."""
    codes = set(
        SnapshotEntry.objects.filter(snapshot=snapshot)
        .order_by()
        .values_list("region_code", flat=True)
        .distinct()
    )
    wanted = set().union(*(_ancestor_codes(code) for code in codes)) if codes else set()
    stored = {
        code: (level, name)
        for code, level, name in Region.objects.filter(code__in=wanted).values_list(
            "code", "level", "name"
        )
    }
    names = {}
    for code in codes:
        parts = sorted(stored[c] for c in _ancestor_codes(code) if c in stored)
        names[code] = "".join(name for _, name in parts) or code
    leagues = sorted({code[:4] + "00" for code in codes})
    return SnapshotRegions(
        names=names,
        leagues=tuple(RegionOption(code, stored[code][1]) for code in leagues if code in stored),
    )


def snapshot_exact_match(*, snapshot: Snapshot, query: str) -> str | None:
    """The code of the one firm a query names exactly (CONTRACTS.md: such a query opens the
    firm): a valid credit code in the snapshot, or a name only one firm has."""
    entries = SnapshotEntry.objects.filter(snapshot=snapshot)
    try:
        code = normalise_uscc(query)
    except ValueError:
        named = list(entries.filter(name=query).values_list("uscc", flat=True)[:2])
        return named[0] if len(named) == 1 else None
    return code if entries.filter(uscc=code).exists() else None


@dataclass(frozen=True)
class BlacklistExit:
    uscc: str
    name: str
    region_code: str
    left_on: date  # the data date of the first snapshot that no longer lists the firm


def snapshot_blacklist_exits(*, snapshot: Snapshot, since: date, limit: int) -> list[BlacklistExit]:
    """Firms the snapshots published since `since` listed as blacklisted and `snapshot` no
    longer does (still in it: a firm that left the registry did not leave the blacklist),
    latest exit first. Three queries whatever the number of snapshots and firms."""
    published = list(
        Snapshot.objects.filter(as_of__gte=since, as_of__lte=snapshot.as_of, id__lte=snapshot.id)
        .order_by("as_of", "id")
        .values_list("id", "as_of")
    )
    following = {  # each snapshot id → the data date of the snapshot published after it
        earlier: day for (earlier, _), (_, day) in itertools.pairwise(published)
    }
    now_listed = SnapshotEntry.objects.filter(snapshot=snapshot, blacklisted=True).values("uscc")
    last_listed = dict(
        SnapshotEntry.objects.filter(
            snapshot_id__in=[snapshot_id for snapshot_id, _ in published], blacklisted=True
        )
        .exclude(uscc__in=now_listed)
        .values("uscc")
        .annotate(last=Max("snapshot_id"))  # ids grow with publication, as data dates do
        .order_by()
        .values_list("uscc", "last")
    )
    exits = [
        BlacklistExit(uscc, name, region_code, left_on=following[last_listed[uscc]])
        for uscc, name, region_code in SnapshotEntry.objects.filter(
            snapshot=snapshot, uscc__in=list(last_listed)
        ).values_list("uscc", "name", "region_code")
        if last_listed[uscc] in following
    ]
    exits.sort(key=lambda e: (e.left_on, e.name), reverse=True)
    return exits[:limit]


@dataclass(frozen=True)
class ManagedCompound:
    name: str
    region_code: str


# Compounds and their management contracts are the inspections app's registry, which credit
# may not import (imports flow one way): that app hands credit its reader at start-up
# (`compounds_reader_register` in its AppConfig.ready). A reader takes (enterprise id, day) and
# returns the compounds under contract that day, by name.
CompoundsReader = Callable[[int, date], Sequence[ManagedCompound]]
_compounds_readers: list[CompoundsReader] = []


def compounds_reader_register(reader: CompoundsReader | None) -> None:
    """Install the reader of managed compounds (None removes it)."""
    _compounds_readers[:] = [reader] if reader is not None else []


def compounds_managed(*, enterprise_id: int, day: date) -> tuple[ManagedCompound, ...] | None:
    """The compounds the firm manages on `day`, by name; None while no reader is installed
    (then only the count kept on the enterprise, `managed_projects`, is known)."""
    if not _compounds_readers:
        return None
    return tuple(_compounds_readers[0](enterprise_id, day))
