"""Import enterprises, projects and management contracts from the spreadsheets staff keep.

`registry_import` reads the file with `inspections.registry_sheet` (format: `FORMAT_HELP`),
checks what needs the database (referenced enterprises, contracts already stored), then writes
everything in one transaction — or nothing, reporting every bad row. Rows are matched by natural
keys (Enterprise.uscc; Project (region, name, address); contract (project, start date)) and
written only when a value differs, so importing the same file twice changes nothing.
"""

import hashlib
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from typing import BinaryIO

from django.db import IntegrityError, transaction
from django.utils import timezone

from backend.audit import audit_append
from credit.models import Enterprise, Region
from inspections.models import ManagementContract, Project
from inspections.registry_sheet import (
    EnterpriseRow,
    FileRefused,
    ParsedSheet,
    ProjectKey,
    ProjectRow,
    RowError,
    parse_registry,
    read_limited,
    row_error,
)
from inspections.services.contracts import enterprise_scale_refresh

logger = logging.getLogger(__name__)

# Database IN lists stay well below SQLite's and PostgreSQL's parameter limits.
QUERY_CHUNK = 2000
WRITE_BATCH = 1000

ERR_ENTERPRISE_UNKNOWN = "物业企业 {uscc} 既不在本文件的企业表中，也未登记"
ERR_CONCURRENT = "导入时数据被同时修改，未导入任何数据，请重新导入"
ERR_CONTRACT_OVERLAP = "合同期与同一项目从 {start} 起的合同重叠（前一份合同须在后一份起始日前终止）"

AUDIT_ACTION = "registry.import"


@dataclass(frozen=True)
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportReport:
    enterprises: KindCounts = KindCounts()
    projects: KindCounts = KindCounts()
    contracts: KindCounts = KindCounts()
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return any(
            k.created or k.updated for k in (self.enterprises, self.projects, self.contracts)
        )


# --- Checks across rows and against the database ----------------------------------------------
def _chunks(items: list, size: int = QUERY_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class _Snapshot:
    """What the database holds for the keys the file mentions, loaded once."""

    enterprises: dict[str, Enterprise]
    projects: dict[ProjectKey, Project]
    contracts: dict[int, dict[date, ManagementContract]]  # project id → start → contract


def load_snapshot(
    enterprise_rows: list[EnterpriseRow], project_rows: list[ProjectRow]
) -> _Snapshot:
    usccs = sorted(
        {r.uscc for r in enterprise_rows}
        | {r.contract.enterprise_uscc for r in project_rows if r.contract}
    )
    enterprises: dict[str, Enterprise] = {}
    for chunk in _chunks(usccs):
        enterprises |= {e.uscc: e for e in Enterprise.objects.filter(uscc__in=chunk)}
    projects = _load_projects({r.key for r in project_rows})
    contracts: dict[int, dict[date, ManagementContract]] = {}
    for chunk in _chunks(sorted(p.pk for p in projects.values())):
        for contract in ManagementContract.objects.filter(project_id__in=chunk):
            contracts.setdefault(contract.project_id, {})[contract.start_date] = contract
    return _Snapshot(enterprises, projects, contracts)


def _load_projects(keys: set[ProjectKey]) -> dict[ProjectKey, Project]:
    found: dict[ProjectKey, Project] = {}
    by_region: dict[str, list[str]] = {}
    for region_code, name, _address in keys:
        by_region.setdefault(region_code, []).append(name)
    for region_code, names in by_region.items():
        for chunk in _chunks(sorted(set(names))):
            for project in Project.objects.filter(region_id=region_code, name__in=chunk):
                key = (project.region_id, project.name, project.address)
                if key in keys:
                    found[key] = project
    return found


def check_rows(
    enterprise_rows: list[EnterpriseRow], project_rows: list[ProjectRow], snapshot: _Snapshot
) -> list[RowError]:
    errors: list[RowError] = []
    known_usccs = {r.uscc for r in enterprise_rows} | snapshot.enterprises.keys()
    for row in project_rows:
        contract = row.contract
        if contract and contract.enterprise_uscc not in known_usccs:
            errors.append(
                row_error(
                    row,
                    "enterprise_uscc",
                    ERR_ENTERPRISE_UNKNOWN.format(uscc=contract.enterprise_uscc),
                )
            )
    errors += _check_overlaps(project_rows, snapshot)
    return errors


def _check_overlaps(rows: list[ProjectRow], snapshot: _Snapshot) -> list[RowError]:
    """After the import a project's contracts must follow each other (end ≤ next start). Only
    overlaps involving a row of this file are reported: old data is not the importer's fault."""
    planned: dict[ProjectKey, dict[date, tuple[date | None, ProjectRow | None]]] = {}
    for key, project in snapshot.projects.items():
        stored = snapshot.contracts.get(project.pk, {})
        planned[key] = {start: (c.end_date, None) for start, c in stored.items()}
    for row in rows:
        if row.contract:
            planned.setdefault(row.key, {})[row.contract.start_date] = (row.contract.end_date, row)
    errors = []
    for periods in planned.values():
        ordered = sorted(periods.items())
        for (start, (end, row)), (next_start, (_, next_row)) in itertools.pairwise(ordered):
            if end is not None and end <= next_start:
                continue
            culprit = row or next_row
            if culprit is not None:
                shown = next_start if culprit is row else start
                errors.append(
                    row_error(culprit, "contract_start", ERR_CONTRACT_OVERLAP.format(start=shown))
                )
    return errors


# --- Writing ----------------------------------------------------------------------------------
def _changed_fields(obj: object, values: dict[str, object]) -> list[str]:
    """Fields whose new value differs; None means "not given, keep what is stored"."""
    changed = []
    for name, value in values.items():
        if value is not None and getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _bulk_update(model, objects: list, fields: set[str]) -> None:
    if not objects:
        return
    now = timezone.now()
    for obj in objects:
        obj.updated_at = now  # bulk_update skips auto_now
    model.objects.bulk_update(objects, sorted(fields | {"updated_at"}), batch_size=WRITE_BATCH)


def write_enterprises(rows: list[EnterpriseRow], snapshot: _Snapshot) -> KindCounts:
    new, changed, fields = [], [], set()
    for row in rows:
        values = {
            "name": row.name,
            "region_id": row.region_code,
            "legal_representative": row.legal_representative,
            "address": row.address,
            "status": row.status,
        }
        existing = snapshot.enterprises.get(row.uscc)
        if existing is None:
            new.append(Enterprise(uscc=row.uscc, **_given(values)))
        elif touched := _changed_fields(existing, values):
            changed.append(existing)
            fields.update(touched)
    Enterprise.objects.bulk_create(new, batch_size=WRITE_BATCH)
    _bulk_update(Enterprise, changed, fields)
    for chunk in _chunks([e.uscc for e in new]):
        snapshot.enterprises |= {e.uscc: e for e in Enterprise.objects.filter(uscc__in=chunk)}
    return KindCounts(len(new), len(changed), len(rows) - len(new) - len(changed))


def _given(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def write_projects(rows: list[ProjectRow], snapshot: _Snapshot) -> KindCounts:
    new: dict[ProjectKey, Project] = {}
    changed: dict[ProjectKey, Project] = {}
    fields: set[str] = set()
    distinct = {row.key: row for row in reversed(rows)}  # first row of each project wins
    for key, row in distinct.items():
        existing = snapshot.projects.get(key)
        if existing is None:
            new[key] = Project(
                region_id=row.region_code, name=row.name, address=row.address,
                **_given(row.attributes()),
            )  # fmt: skip
        elif touched := _changed_fields(existing, row.attributes()):
            changed[key] = existing
            fields.update(touched)
    Project.objects.bulk_create(list(new.values()), batch_size=WRITE_BATCH)
    _bulk_update(Project, list(changed.values()), fields)
    if new:
        snapshot.projects |= _load_projects(set(new))
    return KindCounts(len(new), len(changed), len(distinct) - len(new) - len(changed))


def write_contracts(rows: list[ProjectRow], snapshot: _Snapshot) -> tuple[KindCounts, set[int]]:
    """Returns the counts and the ids of enterprises whose set of contracts changed."""
    new, changed, fields, unchanged = [], [], set(), 0
    touched_enterprises: set[int] = set()
    for row in rows:
        if row.contract is None:
            continue
        contract = row.contract
        project = snapshot.projects[row.key]
        enterprise = snapshot.enterprises[contract.enterprise_uscc]
        existing = snapshot.contracts.get(project.pk, {}).get(contract.start_date)
        values = {
            "enterprise_id": enterprise.pk,
            "end_date": contract.end_date,
            "by_tender": contract.by_tender,
            "contract_no": contract.contract_no,
        }
        if existing is None:
            new.append(
                ManagementContract(
                    project_id=project.pk, start_date=contract.start_date, **_given(values)
                )
            )
            touched_enterprises.add(enterprise.pk)
            continue
        previous_enterprise = existing.enterprise_id
        # end_date None is a real value here (the contract is still running), not "keep".
        touched = _changed_fields(existing, values)
        if existing.end_date != contract.end_date:
            existing.end_date = contract.end_date
            touched.append("end_date")
        if touched:
            changed.append(existing)
            fields.update(touched)
            touched_enterprises |= {previous_enterprise, enterprise.pk}
        else:
            unchanged += 1
    ManagementContract.objects.bulk_create(new, batch_size=WRITE_BATCH)
    _bulk_update(ManagementContract, changed, fields)
    counts = KindCounts(created=len(new), updated=len(changed), unchanged=unchanged)
    return counts, touched_enterprises


# --- The service ------------------------------------------------------------------------------
def registry_import(*, source: BinaryIO, filename: str, actor: str) -> ImportReport:
    """Validate the whole file, then write it in one transaction, or write nothing and report
    every bad row. Safe to run twice: the second run reports everything unchanged."""
    try:
        data = read_limited(source)
        sheet = parse_registry(data, filename=filename, known_regions=_region_codes())
    except FileRefused as exc:
        return ImportReport(errors=(exc.error,))
    try:
        report = _validate_and_write(sheet, data=data, filename=filename, actor=actor)
    except IntegrityError:
        # Another import (or an admin edit) created the same key between our read and write.
        logger.warning("registry import of %s collided with a concurrent write", filename)
        return ImportReport(errors=(RowError(line=0, column="", reason=ERR_CONCURRENT),))
    logger.info("registry import of %s by %s: %s", filename, actor, report)
    return report


@transaction.atomic
def _validate_and_write(
    sheet: ParsedSheet, *, data: bytes, filename: str, actor: str
) -> ImportReport:
    enterprise_rows, project_rows = list(sheet.enterprises), list(sheet.projects)
    snapshot = load_snapshot(enterprise_rows, project_rows)
    errors = [*sheet.errors, *check_rows(enterprise_rows, project_rows, snapshot)]
    if errors:
        return ImportReport(errors=tuple(sorted(set(errors), key=sheet.error_order)))
    report = ImportReport(
        enterprises=write_enterprises(enterprise_rows, snapshot),
        projects=write_projects(project_rows, snapshot),
    )
    contracts, touched = write_contracts(project_rows, snapshot)
    report = replace(report, contracts=contracts)
    enterprise_scale_refresh(enterprise_ids=touched)
    if report.changed:
        _audit(report, data=data, filename=filename, actor=actor)
    return report


def _region_codes() -> set[str]:
    # The whole table: even with every community (社区) of Inner Mongolia it is ~15,000 codes.
    return set(Region.objects.values_list("code", flat=True))


def _audit(report: ImportReport, *, data: bytes, filename: str, actor: str) -> None:
    # An import that changed nothing leaves no trace in the chain, so re-imports stay no-ops.
    audit_append(
        actor=actor,
        action=AUDIT_ACTION,
        object_type="registry_file",
        object_id=hashlib.sha256(data).hexdigest(),
        payload={
            "filename": filename[-200:],
            "enterprises": _counts(report.enterprises),
            "projects": _counts(report.projects),
            "contracts": _counts(report.contracts),
        },
    )


def _counts(counts: KindCounts) -> dict[str, int]:
    return {"created": counts.created, "updated": counts.updated, "unchanged": counts.unchanged}
