"""The database as `ml.features.EventTables`: what the bureau's records say, and nothing more.

Mapping (see `ml.features` for the schema):

- compounds: every `Project`. `enterprise_id` is the manager under the contract running on
  `as_of` (training asks for the managers of each cutoff through `compounds_by_day`); a
  compound nobody manages gets its own pseudo-enterprise `-project_id`, so unmanaged
  compounds do not pool into one fictitious firm. `build_year`: projects carry only the 老旧小区
  flag, so an old compound is given the last year that counts as old and any other compound an
  unknown year (NaN) — the model then sees the flag, never an invented age.
- inspections: submitted inspections (drafts never happened as far as the model knows), dated
  by their start in Asia/Shanghai, with the manager of that day and the counts of *confirmed*
  findings per severity (rulebook severity of the violation code). Pending and rejected
  findings count as nothing: a recent visit still under review reads as clean until confirmed.
- complaints: every registered complaint, with the manager of its day.
- awards: good credit records that were not revoked, dated by their decision.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from django.db.models import Count

from credit.models import CreditRecord, RecordKind, RecordStatus
from credit.selectors import active_rulebook
from inspections.models import (
    Complaint,
    Finding,
    Inspection,
    InspectionStatus,
    ManagementContract,
    Project,
    ReviewStatus,
)
from ml.features import OLD_COMPOUND_BEFORE_YEAR, SEVERITIES, CompoundsAt, EventTables

UNKNOWN_BUILD_YEAR = np.nan
OLD_BUILD_YEAR = OLD_COMPOUND_BEFORE_YEAR - 1


def event_tables(*, as_of: date) -> EventTables:
    """All four tables from the database; managers of `compounds` are those of `as_of`."""
    contracts = _contracts()
    return EventTables(
        compounds=_compounds(_projects(), contracts, as_of),
        inspections=_inspections(contracts),
        complaints=_complaints(contracts),
        awards=_awards(),
    )


def compounds_by_day() -> CompoundsAt:
    """`compounds_at(day)` for training (`ml.model.train`): the compounds table with the managers
    under the contracts running on `day`, from one read of projects and contracts. The same as
    `event_tables(as_of=day).compounds`, without reading every event again per cutoff."""
    projects, contracts = _projects(), _contracts()
    return lambda day: _compounds(projects, contracts, day)


def _contracts() -> pd.DataFrame:
    rows = ManagementContract.objects.values_list(
        "project_id", "enterprise_id", "start_date", "end_date"
    )
    frame = pd.DataFrame(
        list(rows), columns=["project_id", "enterprise_id", "start_date", "end_date"]
    )
    frame["start"] = pd.to_datetime(frame["start_date"]).astype("datetime64[ns]")
    # A running contract (no end date) ends after any day we will ever look at.
    end = pd.to_datetime(frame["end_date"]).astype("datetime64[ns]")
    frame["end"] = end.fillna(pd.Timestamp.max)
    return frame.sort_values("start", kind="stable")


def managers_on(contracts: pd.DataFrame, project_ids, days) -> np.ndarray:
    """The enterprise managing each (project, day), else -project_id.

    `days` are calendar days (anything `pd.to_datetime` reads). Contracts of one project do not
    overlap (the registry import and the contract services guarantee it), so the contract that
    started last on or before the day is the only candidate.
    """
    events = pd.DataFrame(
        {
            "project_id": np.asarray(project_ids, dtype=np.int64),
            "day": pd.to_datetime(pd.Series(days)).astype("datetime64[ns]").to_numpy(),
            "order": np.arange(len(project_ids)),
        }
    )
    if events.empty:
        return np.zeros(0, dtype=np.int64)
    matched = pd.merge_asof(
        events.sort_values("day", kind="stable"),
        contracts[["project_id", "enterprise_id", "start", "end"]],
        left_on="day",
        right_on="start",
        by="project_id",
        direction="backward",
    ).sort_values("order")
    running = matched["enterprise_id"].notna() & (matched["day"] < matched["end"])
    unmanaged = -matched["project_id"].to_numpy(dtype=np.int64)
    return np.where(running, matched["enterprise_id"].fillna(0), unmanaged).astype(np.int64)


def _projects() -> pd.DataFrame:
    rows = list(
        Project.objects.order_by("id").values_list(
            "id", "building_area_m2", "project_type", "is_old_compound", "region_id"
        )
    )
    return pd.DataFrame(rows, columns=["compound_id", "area", "compound_type", "old", "region"])


def _compounds(frame: pd.DataFrame, contracts: pd.DataFrame, as_of: date) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "compound_id": frame["compound_id"].astype(np.int64),
            "enterprise_id": managers_on(contracts, frame["compound_id"], [as_of] * len(frame)),
            "area_m2": frame["area"].astype(float),
            "compound_type": frame["compound_type"].astype(str),
            "build_year": np.where(frame["old"].astype(bool), OLD_BUILD_YEAR, UNKNOWN_BUILD_YEAR),
            "region_code": frame["region"].astype(str),
        }
    )


def _severity_by_code() -> dict[str, str]:
    rulebook = active_rulebook().rulebook
    return {rule.code: rule.severity for rule in rulebook.violations if rule.severity}


def _confirmed_counts() -> pd.DataFrame:
    """Confirmed findings per inspection and severity: columns n_minor, n_ordinary, n_serious."""
    severity_of = _severity_by_code()
    rows = (
        Finding.objects.filter(
            review_status=ReviewStatus.CONFIRMED, inspection__status=InspectionStatus.SUBMITTED
        )
        .values_list("inspection_id", "violation_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    frame = pd.DataFrame(list(rows), columns=["inspection_id", "code", "n"])
    columns = [f"n_{s}" for s in SEVERITIES]
    if frame.empty:
        return pd.DataFrame(columns=columns, dtype=np.int64)
    frame["severity"] = frame["code"].map(severity_of)
    counts = frame.pivot_table(
        index="inspection_id", columns="severity", values="n", aggfunc="sum", fill_value=0
    )
    counts = counts.reindex(columns=list(SEVERITIES), fill_value=0)
    return counts.rename(columns={s: f"n_{s}" for s in SEVERITIES})


def _inspections(contracts: pd.DataFrame) -> pd.DataFrame:
    rows = list(
        Inspection.objects.filter(status=InspectionStatus.SUBMITTED)
        .order_by("id")
        .values_list("id", "project_id", "started_at")
    )
    frame = pd.DataFrame(rows, columns=["inspection_id", "compound_id", "started_at"])
    days = _local_days(frame["started_at"])
    counts = _confirmed_counts().reindex(frame["inspection_id"].to_numpy(), fill_value=0)
    return pd.DataFrame(
        {
            "inspection_id": frame["inspection_id"].astype(np.int64),
            "compound_id": frame["compound_id"].astype(np.int64),
            "enterprise_id": managers_on(contracts, frame["compound_id"], days),
            "date": days,
            **{f"n_{s}": counts[f"n_{s}"].to_numpy(dtype=np.int64) for s in SEVERITIES},
        }
    )


def _complaints(contracts: pd.DataFrame) -> pd.DataFrame:
    rows = list(Complaint.objects.order_by("id").values_list("project_id", "received_at"))
    frame = pd.DataFrame(rows, columns=["compound_id", "received_at"])
    days = _local_days(frame["received_at"])
    return pd.DataFrame(
        {
            "compound_id": frame["compound_id"].astype(np.int64),
            "enterprise_id": managers_on(contracts, frame["compound_id"], days),
            "date": days,
        }
    )


def _awards() -> pd.DataFrame:
    rows = list(
        CreditRecord.objects.filter(kind=RecordKind.GOOD)
        .exclude(status=RecordStatus.REVOKED)
        .order_by("id")
        .values_list("enterprise_id", "decided_at")
    )
    frame = pd.DataFrame(rows, columns=["enterprise_id", "date"])
    return pd.DataFrame(
        {
            "enterprise_id": frame["enterprise_id"].astype(np.int64),
            "date": pd.to_datetime(frame["date"]).astype("datetime64[ns]"),
        }
    )


def _local_days(instants: pd.Series) -> pd.Series:
    """Aware instants → calendar days in Asia/Shanghai (a 01:00 visit is not yesterday's)."""
    if instants.empty:
        return pd.Series([], dtype="datetime64[ns]")
    local = pd.to_datetime(instants, utc=True).dt.tz_convert("Asia/Shanghai")
    return local.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
