"""Leakage-free features and labels for compound risk, from plain event tables.

Input schema (``EventTables``), one pandas DataFrame per table; extra columns are ignored:

- ``compounds``: one row per compound (物业项目) as it is today.
  ``compound_id`` (int), ``enterprise_id`` (int, current manager), ``area_m2`` (float, building
  area), ``compound_type`` (one of ``COMPOUND_TYPES``; anything else counts as none of them),
  ``build_year`` (int).
- ``inspections``: one row per inspection visit actually made, clean visits included.
  ``inspection_id``, ``compound_id``, ``enterprise_id`` (manager at the time of the visit),
  ``date``, ``n_minor``, ``n_ordinary``, ``n_serious`` (counts of *confirmed* findings of that
  severity; rejected findings are not counted).
- ``complaints``: one row per registered complaint: ``compound_id``, ``enterprise_id``, ``date``.
- ``awards``: one row per good record (表彰): ``enterprise_id``, ``date``.

Dates are calendar days in Asia/Shanghai: ``datetime64``, ``datetime.date`` or strings. Timezone-
aware timestamps are converted to Asia/Shanghai first, because a visit at 01:00 local time is
stored as the previous day in UTC.

No leakage: features at ``cutoff`` use only events dated strictly before ``cutoff``; labels use
only inspections in ``[cutoff, cutoff + horizon_days)``. The compound attributes (area, type,
build year) are taken as they are now, which is safe because they do not depend on findings.
The manager is not: owners replace managers partly *because* of findings, so a compounds table
of today describes, at an old cutoff, the firm that took over later. ``build_dataset`` therefore
takes ``compounds_at(day)``, the compounds table with the managers of that day, and uses it for
every cutoff; without it, ``tables.compounds`` serves every cutoff (fine for scoring today and
for analyst tables that only know today's managers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

COMPOUND_TYPES = (
    "residential",
    "office",
    "factory",
    "hospital",
    "school",
    "mall",
    "hotel",
    "public",
)
OLD_COMPOUND_BEFORE_YEAR = (
    2000  # 老旧小区: the national renovation programme covers pre-2000 estates
)
WINDOWS_DAYS = (90, 180, 365)
# Two years without a visit is already "very long"; capping keeps never-inspected compounds
# from dominating linear models with huge numbers.
DAYS_SINCE_CAP = 730
AWARD_MEMORY_DAYS = 1095  # good records are published for up to 36 months
# Five pseudo-visits at the population rate: an enterprise with one bad visit out of one is not
# ranked above a large firm with 30 bad visits out of 100.
ENTERPRISE_RATE_PRIOR_VISITS = 5.0
DEFAULT_HORIZON_DAYS = 180
TIME_ZONE = "Asia/Shanghai"

REQUIRED_COLUMNS = {
    "compounds": ("compound_id", "enterprise_id", "area_m2", "compound_type", "build_year"),
    "inspections": (
        "inspection_id",
        "compound_id",
        "enterprise_id",
        "date",
        "n_minor",
        "n_ordinary",
        "n_serious",
    ),
    "complaints": ("compound_id", "enterprise_id", "date"),
    "awards": ("enterprise_id", "date"),
}

SEVERITIES = ("minor", "ordinary", "serious")
COMPOUND_HISTORY_FEATURES = (
    *(f"{severity}_{window}d" for severity in SEVERITIES for window in WINDOWS_DAYS),
    "inspections_365d",
    "violation_visits_365d",
    "days_since_last_inspection",
    "never_inspected",
    "days_since_last_violation",
    "complaints_180d",
    "complaints_365d",
)
COMPOUND_STATIC_FEATURES = (
    "area_10k_m2",
    "building_age_years",
    "old_compound",
    *(f"type_{name}" for name in COMPOUND_TYPES),
)
ENTERPRISE_FEATURES = (
    "ent_compounds",
    "ent_inspections_365d",
    "ent_violation_rate_365d",
    "ent_minor_per_visit_365d",
    "ent_serious_365d",
    "ent_complaints_180d_per_compound",
    "ent_awards_1095d",
)
SEASON_FEATURES = ("cutoff_month",)
FEATURE_NAMES = (
    COMPOUND_HISTORY_FEATURES + COMPOUND_STATIC_FEATURES + ENTERPRISE_FEATURES + SEASON_FEATURES
)

ERR_MISSING_COLUMNS = "table {table!r} lacks columns: {columns}"
ERR_DUPLICATE_COMPOUNDS = "compounds table has duplicate compound_id values"
ERR_HORIZON = "horizon_days must be positive"
ERR_NO_CUTOFFS = "at least one cutoff is needed"


@dataclass(frozen=True)
class EventTables:
    """The four tables described in the module docstring."""

    compounds: pd.DataFrame
    inspections: pd.DataFrame
    complaints: pd.DataFrame
    awards: pd.DataFrame

    def __post_init__(self) -> None:
        for table, columns in REQUIRED_COLUMNS.items():
            missing = [c for c in columns if c not in getattr(self, table).columns]
            if missing:
                raise ValueError(
                    ERR_MISSING_COLUMNS.format(table=table, columns=", ".join(missing))
                )
        if self.compounds["compound_id"].duplicated().any():
            raise ValueError(ERR_DUPLICATE_COMPOUNDS)


# The compounds table as it was on a given day (same schema as ``EventTables.compounds``).
CompoundsAt = Callable[[date], pd.DataFrame]


@dataclass(frozen=True)
class Dataset:
    """Labelled rows (one per compound inspected in a label window) over one or more cutoffs."""

    features: pd.DataFrame  # columns FEATURE_NAMES, default RangeIndex
    labels: np.ndarray  # 0/1
    cutoffs: np.ndarray  # datetime64[D], the cutoff of each row
    compound_ids: np.ndarray
    first_inspection_dates: np.ndarray  # datetime64[D], first visit of the label window


def to_days(values) -> np.ndarray:
    """Calendar days (``datetime64[D]``) in Asia/Shanghai from dates, timestamps or strings."""
    series = pd.Series(values)
    if not isinstance(series.dtype, pd.DatetimeTZDtype) and not pd.api.types.is_datetime64_dtype(
        series
    ):
        series = pd.to_datetime(series)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert(TIME_ZONE).dt.tz_localize(None)
    return series.to_numpy().astype("datetime64[D]")


def build_features(tables: EventTables, cutoff: date) -> pd.DataFrame:
    """Features of every compound in ``tables.compounds`` as seen just before ``cutoff``.

    Returns a DataFrame indexed by ``compound_id`` (same order as the compounds table) with
    columns ``FEATURE_NAMES``, all float64.
    """
    cut = np.datetime64(cutoff, "D")
    compounds = tables.compounds
    history = _compound_history(tables, cut)
    static = _compound_static(compounds, cut)
    enterprise = enterprise_features(tables, cutoff)
    ent_rows = enterprise.reindex(compounds["enterprise_id"].to_numpy()).to_numpy()
    frame = pd.DataFrame(
        np.column_stack(
            [history, static, ent_rows, np.full(len(compounds), _month(cut), dtype=float)]
        ),
        columns=list(FEATURE_NAMES),
        index=pd.Index(compounds["compound_id"].to_numpy(), name="compound_id"),
    )
    return frame


def enterprise_features(tables: EventTables, cutoff: date) -> pd.DataFrame:
    """Enterprise aggregates before ``cutoff``, indexed by ``enterprise_id``.

    Enterprises are those managing a compound now or inspected/complained about/awarded before
    the cutoff. Columns ``ENTERPRISE_FEATURES``, all float64.
    """
    cut = np.datetime64(cutoff, "D")
    insp = _past(tables.inspections, cut, AWARD_MEMORY_DAYS)
    compl = _past(tables.complaints, cut, 180)
    awards = _past(tables.awards, cut, AWARD_MEMORY_DAYS)
    ids = np.unique(
        np.concatenate(
            [
                tables.compounds["enterprise_id"].to_numpy(),
                insp.frame["enterprise_id"].to_numpy(),
                compl.frame["enterprise_id"].to_numpy(),
                awards.frame["enterprise_id"].to_numpy(),
            ]
        ).astype(np.int64)
    )
    index = pd.Index(ids, name="enterprise_id")
    n = len(index)

    compounds = np.bincount(
        index.get_indexer(tables.compounds["enterprise_id"].to_numpy()), minlength=n
    ).astype(float)
    year = insp.age <= 365
    pos = index.get_indexer(insp.frame["enterprise_id"].to_numpy()[year])
    bad_visit = _bad_visit(insp.frame)[year]
    visits = np.bincount(pos, minlength=n).astype(float)
    bad_visits = np.bincount(pos, weights=bad_visit, minlength=n)
    minor = np.bincount(pos, weights=insp.frame["n_minor"].to_numpy(dtype=float)[year], minlength=n)
    rate = _shrunk_rate(bad_visits, visits, bad_visit.sum(), len(bad_visit))
    minor_rate = _shrunk_rate(minor, visits, minor.sum(), len(bad_visit))
    serious = np.bincount(
        pos, weights=insp.frame["n_serious"].to_numpy(dtype=float)[year], minlength=n
    )
    complaints = np.bincount(
        index.get_indexer(compl.frame["enterprise_id"].to_numpy()), minlength=n
    ).astype(float)
    awards_count = np.bincount(
        index.get_indexer(awards.frame["enterprise_id"].to_numpy()), minlength=n
    ).astype(float)
    return pd.DataFrame(
        np.column_stack(
            [
                compounds,
                visits,
                rate,
                minor_rate,
                serious,
                complaints / np.maximum(compounds, 1.0),
                awards_count,
            ]
        ),
        columns=list(ENTERPRISE_FEATURES),
        index=index,
    )


def build_labels(
    tables: EventTables, cutoff: date, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> pd.DataFrame:
    """Labels from inspections actually made in ``[cutoff, cutoff + horizon_days)``.

    One row per compound of the compounds table inspected in the window, sorted by
    ``compound_id``: ``label`` is 1 if any of those visits confirmed an ordinary or serious
    finding; ``n_inspections`` counts the visits; ``first_inspection_date`` is the first one.
    Compounds not inspected in the window get no row: their outcome is unknown, not clean.
    """
    if horizon_days <= 0:
        raise ValueError(ERR_HORIZON)
    start = np.datetime64(cutoff, "D")
    insp = tables.inspections
    days = to_days(insp["date"])
    in_window = (days >= start) & (days < start + horizon_days)
    compound_ids = insp["compound_id"].to_numpy()[in_window]
    known = np.isin(compound_ids, tables.compounds["compound_id"].to_numpy())
    window = pd.DataFrame(
        {
            "compound_id": compound_ids[known],
            "bad": _bad_visit(insp.loc[in_window])[known],
            "date": days[in_window][known],
        }
    )
    grouped = window.groupby("compound_id", sort=True)
    labels = pd.DataFrame(
        {
            "label": grouped["bad"].max().astype(np.int64),
            "n_inspections": grouped.size().astype(np.int64),
            "first_inspection_date": grouped["date"].min(),
        }
    )
    return labels.reset_index()


def tables_at(
    tables: EventTables, cutoff: date, compounds_at: CompoundsAt | None = None
) -> EventTables:
    """``tables`` with the compounds (and so the managers) of ``cutoff`` when known."""
    if compounds_at is None:
        return tables
    return replace(tables, compounds=compounds_at(cutoff))


def build_dataset(
    tables: EventTables,
    cutoffs: Sequence[date],
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    compounds_at: CompoundsAt | None = None,
) -> Dataset:
    """Features and labels for each cutoff, stacked in cutoff order; with ``compounds_at``, each
    cutoff sees the compounds and managers of its own day (see the module docstring)."""
    if not cutoffs:
        raise ValueError(ERR_NO_CUTOFFS)
    parts = []
    for cutoff in sorted(cutoffs):
        at_cutoff = tables_at(tables, cutoff, compounds_at)
        labels = build_labels(at_cutoff, cutoff, horizon_days)
        features = build_features(at_cutoff, cutoff).loc[labels["compound_id"].to_numpy()]
        parts.append((cutoff, features, labels))
    return Dataset(
        features=pd.concat([p[1] for p in parts], ignore_index=True),
        labels=np.concatenate([p[2]["label"].to_numpy() for p in parts]),
        cutoffs=np.concatenate([np.full(len(p[2]), np.datetime64(p[0], "D")) for p in parts]),
        compound_ids=np.concatenate([p[2]["compound_id"].to_numpy() for p in parts]),
        first_inspection_dates=np.concatenate(
            [p[2]["first_inspection_date"].to_numpy().astype("datetime64[D]") for p in parts]
        ),
    )


def past_findings_score(features: pd.DataFrame) -> np.ndarray:
    """The rule-of-thumb ranking the model must beat: confirmed findings in the last 365 days."""
    return (
        features["minor_365d"] + features["ordinary_365d"] + features["serious_365d"]
    ).to_numpy()


@dataclass(frozen=True)
class _PastEvents:
    frame: pd.DataFrame  # rows dated in [cutoff - lookback, cutoff)
    age: np.ndarray  # days before cutoff, 1..lookback


def _past(table: pd.DataFrame, cut: np.datetime64, lookback_days: int) -> _PastEvents:
    days = to_days(table["date"])
    age = (cut - days).astype(np.int64)
    keep = (age >= 1) & (age <= lookback_days)
    return _PastEvents(frame=table.loc[keep], age=age[keep])


def _shrunk_rate(
    events: np.ndarray, visits: np.ndarray, population_events: float, population_visits: int
) -> np.ndarray:
    """Events per visit, pulled towards the population rate by a few pseudo-visits."""
    population_rate = population_events / population_visits if population_visits else 0.0
    prior = ENTERPRISE_RATE_PRIOR_VISITS
    return (events + prior * population_rate) / (visits + prior)


def _bad_visit(inspections: pd.DataFrame) -> np.ndarray:
    return (
        inspections["n_ordinary"].to_numpy(dtype=float)
        + inspections["n_serious"].to_numpy(dtype=float)
        > 0
    ).astype(float)


def _compound_history(tables: EventTables, cut: np.datetime64) -> np.ndarray:
    index = pd.Index(tables.compounds["compound_id"].to_numpy())
    n = len(index)
    # All history counts look back at most 365 days, except "days since", which needs all.
    insp = _past(tables.inspections, cut, np.iinfo(np.int64).max // 2)
    pos = index.get_indexer(insp.frame["compound_id"].to_numpy())
    known = pos >= 0
    pos, age, frame = pos[known], insp.age[known], insp.frame.loc[known]
    columns = []
    for severity in SEVERITIES:
        counts = frame[f"n_{severity}"].to_numpy(dtype=float)
        for window in WINDOWS_DAYS:
            in_window = age <= window
            columns.append(np.bincount(pos[in_window], weights=counts[in_window], minlength=n))
    year = age <= 365
    bad = _bad_visit(frame)
    columns.append(np.bincount(pos[year], minlength=n).astype(float))
    columns.append(np.bincount(pos[year], weights=bad[year], minlength=n))
    since = _min_age(pos, age, n)
    columns.append(np.minimum(since, DAYS_SINCE_CAP).astype(float))
    columns.append((since == np.iinfo(np.int64).max).astype(float))
    bad_rows = bad > 0
    since_bad = _min_age(pos[bad_rows], age[bad_rows], n)
    columns.append(np.minimum(since_bad, DAYS_SINCE_CAP).astype(float))

    compl = _past(tables.complaints, cut, 365)
    cpos = index.get_indexer(compl.frame["compound_id"].to_numpy())
    cknown = cpos >= 0
    for window in (180, 365):
        in_window = cknown & (compl.age <= window)
        columns.append(np.bincount(cpos[in_window], minlength=n).astype(float))
    return np.column_stack(columns)


def _min_age(pos: np.ndarray, age: np.ndarray, n: int) -> np.ndarray:
    result = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(result, pos, age)
    return result


def _compound_static(compounds: pd.DataFrame, cut: np.datetime64) -> np.ndarray:
    build_year = compounds["build_year"].to_numpy(dtype=float)
    cutoff_year = cut.astype("datetime64[Y]").astype(np.int64) + 1970
    types = compounds["compound_type"].astype(str).to_numpy()
    return np.column_stack(
        [
            compounds["area_m2"].to_numpy(dtype=float) / 10_000,
            np.maximum(cutoff_year - build_year, 0.0),
            (build_year < OLD_COMPOUND_BEFORE_YEAR).astype(float),
            *[(types == name).astype(float) for name in COMPOUND_TYPES],
        ]
    )


def _month(cut: np.datetime64) -> int:
    return int(cut.astype("datetime64[M]").astype(np.int64) % 12 + 1)
