"""A seeded synthetic world of enterprises, compounds and inspections with a known hidden truth.

Used by tests and benchmarks to check that the risk model finds what is really there. Everything
is vectorised numpy (one ``numpy.random.Generator``), so a million inspections take seconds.

How the world works:

- Each enterprise has a hidden *quality* that drifts month by month as a mean-reverting random
  walk (AR(1)); bigger enterprises start slightly better. Each compound has a hidden effect.
- A compound's risk logit in a month is ``-quality + compound effect + old/size/type effects +
  winter effect``; each catalogue code is found at an inspection with
  ``sigmoid(code base + slope * logit)``. SNOW-ICE is only possible November to March.
- Routine inspections arrive per compound at a rate that depends on type, age, size and region
  (remote leagues are visited less), on working days mostly, fewer around the Spring Festival and
  National Day. A routine visit that finds an ordinary or serious violation is followed up
  (复查) with some probability a few weeks later, after partial rectification.
- Complaints arrive monthly, more for bad quality and big compounds; some trigger an inspection.
- About 8 % of compounds a year change manager (换物业), bad managers' compounds more often; the
  compounds table shows today's manager, each event the manager of its day, and
  ``World.compounds_at(day)`` the managers of any day (for leakage-free training cutoffs).
- Awards (good records) come yearly, more for good quality.

The returned ``World`` holds observable tables (what the bureau's database would hold) and
``truth`` (hidden monthly quality and the true probability that a routine inspection in that
month finds an ordinary or serious violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from ml.features import COMPOUND_TYPES, OLD_COMPOUND_BEFORE_YEAR, EventTables

REGION_CODES = np.array(
    [150100, 150200, 150300, 150400, 150500, 150600, 150700, 150800, 150900, 152200, 152500, 152900]
)
# Rough shares of urban housing stock: Hohhot and Baotou dominate, Alxa is tiny.
REGION_WEIGHTS = np.array([0.20, 0.18, 0.04, 0.12, 0.08, 0.12, 0.07, 0.05, 0.05, 0.03, 0.04, 0.02])
# Remote leagues (Hulunbuir, Xilingol, Alxa) have few inspectors for long distances.
REGION_VISIT_RATE = np.array([1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 0.8, 0.9, 0.9, 0.8, 0.7, 0.6])

TYPE_WEIGHTS = np.array([0.70, 0.07, 0.04, 0.03, 0.05, 0.04, 0.03, 0.04])
TYPE_RISK = np.array([0.0, -0.2, 0.1, 0.3, 0.1, 0.25, 0.05, -0.1])
# Crowded places (hospitals, schools, malls) are on the bureau's priority list for patrols.
TYPE_VISIT_RATE = np.array([1.0, 0.8, 0.7, 1.5, 1.5, 1.3, 1.0, 0.8])
# Median building area in m²: residential compounds are large estates, others single buildings.
TYPE_MEDIAN_AREA = np.array([60_000, 25_000, 30_000, 40_000, 30_000, 50_000, 20_000, 15_000])

# (code, severity, base logit): base logits put an average routine visit at ~30 % with a minor
# finding, ~10 % with an ordinary one and well under 1 % with a serious one.
INSPECTION_CODES = (
    ("FEE-NOT-DISCLOSED", "minor", -4.0),
    ("CONSTRUCTION-UNREPORTED", "minor", -4.3),
    ("RENOVATION-UNREPORTED", "minor", -4.0),
    ("GREEN-DAMAGE", "minor", -4.2),
    ("PARKING-DISORDER", "minor", -3.2),
    ("E-ARCHIVE-MISSING", "minor", -4.3),
    ("SANITATION", "minor", -2.9),
    ("SNOW-ICE", "minor", -2.0),
    ("FEE-UNLISTED", "ordinary", -5.2),
    ("ELEVATOR-CONTRACT", "ordinary", -5.4),
    ("ELEVATOR-OPS", "ordinary", -4.6),
    ("EMERGENCY-RESPONSE", "ordinary", -5.4),
    ("PARKING-LEASE", "ordinary", -5.2),
    ("HANDOVER-RECORDS", "ordinary", -5.0),
    ("SECONDARY-WATER", "ordinary", -4.8),
    ("ABANDON", "serious", -9.0),
    ("SAFETY-ACCIDENT", "serious", -8.5),
    ("MAINT-FUND-MISUSE", "serious", -8.5),
)
SNOW_ICE_CODE = "SNOW-ICE"
WINTER_MONTHS = (11, 12, 1, 2, 3)
WINTER_RISK = 0.35  # heating season: frozen pipes, snow on exits, more of everything
OLD_RISK = 0.7  # 老旧小区: ageing pipes, no elevator contracts, no archives
# Minor findings (litter, parking) follow management quality only loosely; serious ones closely.
SEVERITY_SLOPE = {"minor": 0.5, "ordinary": 1.0, "serious": 1.3}

AWARD_CODES = (
    "DEMO-NATIONAL",
    "DEMO-REGION",
    "EXCELLENT-REGION",
    "TRADEMARK-NATIONAL",
    "TRADEMARK-REGION",
    "STANDARDIZATION-PILOT",
    "OLD-COMPOUND-TAKEOVER",
    "EMPLOY-DISADVANTAGED",
    "ENERGY-SAVING",
)
AWARD_WEIGHTS = np.array([0.03, 0.10, 0.15, 0.02, 0.08, 0.07, 0.15, 0.25, 0.15])

QUALITY_PERSISTENCE = 0.97  # monthly AR(1) coefficient: a firm changes over years, not weeks
QUALITY_MONTHLY_SHOCK = 0.25
COMPOUND_EFFECT_SD = 0.2  # most risk is the manager's, not the buildings'
COMPLAINT_BASE_PER_MONTH = 0.06
COMPLAINT_TRIGGERS_VISIT = 0.3
# Complaints follow the manager's quality more than the compound's own condition.
COMPLAINT_RISK_SLOPE = 0.8
FOLLOW_UP_PROBABILITY = 0.6
# Owners' committees replace managers (换物业) at ~8 % of compounds a year, bad ones more often.
HANDOVER_PER_YEAR = 0.08
RECTIFICATION_EFFECT = 1.0  # a follow-up visit comes after the firm was told to fix things

ERR_DAYS = "days must be at least 31 so that there is at least one full month"
ERR_SIZES = "n_enterprises and n_compounds must be positive"


@dataclass(frozen=True)
class World:
    """Observable tables plus the hidden truth of one simulated world.

    enterprises: enterprise_id, region_code, n_compounds.
    compounds: compound_id, enterprise_id, region_code, area_m2, compound_type, build_year,
        old_compound.
    inspections: inspection_id, compound_id, enterprise_id, date, kind (routine, follow_up,
        complaint), n_minor, n_ordinary, n_serious, codes (";"-joined, "" for a clean visit).
    complaints: complaint_id, compound_id, enterprise_id, date, verified.
    awards: award_id, enterprise_id, date, code.
    truth: compound_id, enterprise_id (manager that month), month (its first simulated day),
        quality (the manager's hidden quality), p_violation (true probability that a routine
        visit that month finds an ordinary or serious violation).
    handovers: compound_id, previous_enterprise_id, date (first day of the new manager, who is
        the one in ``compounds``); one row per compound that changed hands.
    """

    enterprises: pd.DataFrame
    compounds: pd.DataFrame
    inspections: pd.DataFrame
    complaints: pd.DataFrame
    awards: pd.DataFrame
    truth: pd.DataFrame
    start: date
    days: int
    handovers: pd.DataFrame

    def event_tables(self) -> EventTables:
        return EventTables(
            compounds=self.compounds,
            inspections=self.inspections,
            complaints=self.complaints,
            awards=self.awards,
        )

    def compounds_at(self, day: date) -> pd.DataFrame:
        """``compounds`` with the managers of ``day`` (a handover dated ``day`` has happened)."""
        later = self.handovers[self.handovers["date"].to_numpy() > np.datetime64(day, "D")]
        previous = (
            later.set_index("compound_id")["previous_enterprise_id"]
            .reindex(self.compounds["compound_id"].to_numpy())
            .to_numpy()
        )
        current = self.compounds["enterprise_id"].to_numpy()
        managers = np.where(np.isnan(previous), current, previous).astype(np.int64)
        return self.compounds.assign(enterprise_id=managers)


@dataclass(frozen=True)
class Layout:
    """Compounds given from outside instead of drawn (the demo's database, whose registry
    exists before its history is simulated), so that the hidden truth acts on the managers and
    attributes the database shows. One element per compound: its manager (enterprise index,
    0-based) before and after a handover and the handover's day index (``days`` for none), its
    region code, type index into ``COMPOUND_TYPES``, area in m² and build year."""

    before: np.ndarray
    after: np.ndarray
    change_day: np.ndarray
    region_code: np.ndarray
    type_idx: np.ndarray
    area_m2: np.ndarray
    build_year: np.ndarray


def simulate(
    n_enterprises: int,
    n_compounds: int,
    start: date,
    days: int,
    seed: int,
    *,
    visits_per_year: float = 2.0,
    layout: Layout | None = None,
) -> World:
    """Simulate ``days`` days from ``start``; ``visits_per_year`` is the mean routine rate.
    With ``layout`` the compounds, their managers and handovers are the given ones."""
    if days < 31:
        raise ValueError(ERR_DAYS)
    if n_enterprises < 1 or n_compounds < 1:
        raise ValueError(ERR_SIZES)
    rng = np.random.default_rng(seed)
    day_dates = np.datetime64(start, "D") + np.arange(days)
    month_of_day = _month_index(day_dates)
    n_months = int(month_of_day[-1]) + 1

    enterprises, log_size = _enterprises(rng, n_enterprises, n_compounds)
    if layout is not None:
        counts = np.bincount(layout.before, minlength=n_enterprises)
        log_size = np.log1p(counts.astype(float))
    quality = _quality_paths(rng, log_size, n_months)
    if layout is None:
        compounds, managers = _compounds(rng, enterprises, log_size, quality, n_compounds, days)
    else:
        compounds, managers = _laid_out(layout)
    enterprises["n_compounds"] = np.bincount(
        compounds["enterprise_id"].to_numpy() - 1, minlength=n_enterprises
    )
    compound_effect = rng.normal(0.0, COMPOUND_EFFECT_SD, n_compounds)
    static_logit = _static_logit(compounds) + compound_effect
    world = _Dynamics(quality, static_logit, managers, day_dates, month_of_day)

    complaints, complaint_events = _complaints(rng, compounds, world)
    visits = _routine_visits(rng, compounds, day_dates, visits_per_year)
    visits = _append_complaint_visits(rng, visits, complaint_events, days)
    inspections = _inspect(rng, world, visits)
    awards = _awards(rng, quality, day_dates, month_of_day)
    truth = _truth(compounds, world)
    return World(
        enterprises=enterprises,
        compounds=compounds,
        inspections=inspections,
        complaints=complaints,
        awards=awards,
        truth=truth,
        start=start,
        days=days,
        handovers=_handover_table(managers, day_dates),
    )


def oracle_risk(world: World, cutoff: date, horizon_days: int = 180) -> pd.Series:
    """Mean true monthly violation probability over the label window, indexed by compound_id.

    It is what a model that knew the hidden truth would rank by.
    """
    first = np.datetime64(cutoff, "M").astype("datetime64[ns]")
    last = np.datetime64(pd.Timestamp(cutoff) + pd.Timedelta(days=horizon_days - 1), "M")
    months = world.truth["month"].to_numpy()
    in_window = (months >= first) & (months <= last.astype("datetime64[ns]"))
    window = world.truth.loc[in_window, ["compound_id", "p_violation"]]
    return window.groupby("compound_id")["p_violation"].mean()


def _month_index(day_dates: np.ndarray) -> np.ndarray:
    months = day_dates.astype("datetime64[M]")
    return (months - months[0]).astype(np.int64)


def _enterprises(rng: np.random.Generator, n_enterprises: int, n_compounds: int):
    # Market share is heavy-tailed: a few groups manage dozens of compounds, most manage one or two.
    weight = rng.lognormal(0.0, 1.0, n_enterprises)
    expected_compounds = weight / weight.sum() * n_compounds
    log_size = np.log1p(expected_compounds)
    enterprises = pd.DataFrame(
        {
            "enterprise_id": np.arange(1, n_enterprises + 1, dtype=np.int64),
            "region_code": rng.choice(REGION_CODES, n_enterprises, p=REGION_WEIGHTS),
        }
    )
    return enterprises, log_size


@dataclass(frozen=True)
class _Managers:
    """Who manages each compound: ``before`` until ``change_day``, ``after`` from then on."""

    before: np.ndarray  # enterprise index per compound
    after: np.ndarray
    change_day: np.ndarray  # day index of the handover; ``days`` when there is none

    def at(self, compound_idx: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
        changed = day_idx >= self.change_day[compound_idx]
        return np.where(changed, self.after[compound_idx], self.before[compound_idx])


@dataclass(frozen=True)
class _Dynamics:
    quality: np.ndarray  # (enterprises, months)
    static_logit: np.ndarray  # per compound, includes the hidden compound effect
    managers: _Managers
    day_dates: np.ndarray
    month_of_day: np.ndarray

    def logit(self, compound_idx: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
        enterprise_idx = self.managers.at(compound_idx, day_idx)
        return (
            -self.quality[enterprise_idx, self.month_of_day[day_idx]]
            + self.static_logit[compound_idx]
            + WINTER_RISK * _winter(self.day_dates[day_idx])
        )


def _compounds(rng, enterprises, log_size, quality, n_compounds: int, days: int):
    weight = np.expm1(log_size)
    before = rng.choice(len(enterprises), n_compounds, p=weight / weight.sum())
    managers = _handovers(rng, before, weight, quality, days)
    home_region = enterprises["region_code"].to_numpy()[before]
    # Most firms work in their home league; one compound in ten is elsewhere.
    elsewhere = rng.random(n_compounds) < 0.1
    region = np.where(
        elsewhere, rng.choice(REGION_CODES, n_compounds, p=REGION_WEIGHTS), home_region
    )
    type_idx = rng.choice(len(COMPOUND_TYPES), n_compounds, p=TYPE_WEIGHTS)
    area = TYPE_MEDIAN_AREA[type_idx] * rng.lognormal(0.0, 0.7, n_compounds)
    # Build years skew recent (the housing boom after 2000) with a long tail back to 1975.
    build_year = np.clip(2023 - rng.gamma(2.0, 8.0, n_compounds), 1975, 2023).astype(np.int64)
    compounds = pd.DataFrame(
        {
            "compound_id": np.arange(1, n_compounds + 1, dtype=np.int64),
            "enterprise_id": managers.after.astype(np.int64) + 1,
            "region_code": region,
            "area_m2": np.round(area, 1),
            "compound_type": pd.Categorical.from_codes(type_idx, COMPOUND_TYPES),
            "build_year": build_year,
            "old_compound": build_year < OLD_COMPOUND_BEFORE_YEAR,
        }
    )
    return compounds, managers


def _laid_out(layout: Layout):
    managers = _Managers(
        before=np.asarray(layout.before, dtype=np.int64),
        after=np.asarray(layout.after, dtype=np.int64),
        change_day=np.asarray(layout.change_day, dtype=np.int64),
    )
    build_year = np.asarray(layout.build_year, dtype=np.int64)
    compounds = pd.DataFrame(
        {
            "compound_id": np.arange(1, len(build_year) + 1, dtype=np.int64),
            "enterprise_id": managers.after + 1,
            "region_code": np.asarray(layout.region_code),
            "area_m2": np.asarray(layout.area_m2, dtype=float),
            "compound_type": pd.Categorical.from_codes(
                np.asarray(layout.type_idx, dtype=np.int64), COMPOUND_TYPES
            ),
            "build_year": build_year,
            "old_compound": build_year < OLD_COMPOUND_BEFORE_YEAR,
        }
    )
    return compounds, managers


def _handovers(rng, before: np.ndarray, weight: np.ndarray, quality: np.ndarray, days: int):
    # Bad managers lose compounds more often: the rate scales with exp(-quality), normalised so
    # that the average compound sees HANDOVER_PER_YEAR.
    hazard = np.exp(-quality[before].mean(axis=1))
    rate = HANDOVER_PER_YEAR * hazard / hazard.mean() * days / 365.25
    changes = rng.random(len(before)) < 1.0 - np.exp(-rate)
    change_day = np.where(changes, rng.integers(0, days, len(before)), days)
    newcomer = rng.choice(len(weight), len(before), p=weight / weight.sum())
    after = np.where(changes, newcomer, before)
    return _Managers(before=before, after=after, change_day=change_day)


def _handover_table(managers: _Managers, day_dates: np.ndarray) -> pd.DataFrame:
    changed = np.nonzero(managers.after != managers.before)[0]
    return pd.DataFrame(
        {
            "compound_id": changed.astype(np.int64) + 1,
            "previous_enterprise_id": managers.before[changed].astype(np.int64) + 1,
            "date": day_dates[managers.change_day[changed]].astype("datetime64[ns]"),
        }
    )


def _quality_paths(rng, log_size: np.ndarray, n_months: int) -> np.ndarray:
    stationary_sd = QUALITY_MONTHLY_SHOCK / np.sqrt(1.0 - QUALITY_PERSISTENCE**2)
    size_bonus = 0.2 * (log_size - log_size.mean()) / (log_size.std() + 1e-9)
    quality = np.empty((len(log_size), n_months))
    quality[:, 0] = rng.normal(0.0, stationary_sd, len(log_size)) + size_bonus
    shocks = rng.normal(0.0, QUALITY_MONTHLY_SHOCK, (len(log_size), n_months))
    for month in range(1, n_months):  # one step per month, vectorised over enterprises
        quality[:, month] = QUALITY_PERSISTENCE * quality[:, month - 1] + shocks[:, month]
    return quality


def _static_logit(compounds: pd.DataFrame) -> np.ndarray:
    type_idx = compounds["compound_type"].cat.codes.to_numpy()
    size = np.log(compounds["area_m2"].to_numpy() / 50_000)
    age = (2024 - compounds["build_year"].to_numpy()) / 20
    return (
        OLD_RISK * compounds["old_compound"].to_numpy()
        + 0.15 * age
        + 0.2 * size
        + TYPE_RISK[type_idx]
    )


def _winter(day_dates: np.ndarray) -> np.ndarray:
    month = day_dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.isin(month, WINTER_MONTHS)


def _day_weights(day_dates: np.ndarray) -> np.ndarray:
    weekday = (day_dates.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weight = np.where(weekday == 5, 0.15, np.where(weekday == 6, 0.05, 1.0))
    month = day_dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (day_dates - day_dates.astype("datetime64[M]")).astype(np.int64) + 1
    spring_festival = ((month == 1) & (day >= 25)) | ((month == 2) & (day <= 15))
    national_day = (month == 10) & (day <= 7)
    # Autumn pre-heating checks (October-November) are a push in northern cities.
    weight = np.where(np.isin(month, (10, 11)), weight * 1.3, weight)
    return np.where(spring_festival | national_day, weight * 0.25, weight)


def _routine_visits(rng, compounds: pd.DataFrame, day_dates: np.ndarray, visits_per_year: float):
    type_idx = compounds["compound_type"].cat.codes.to_numpy()
    region_idx = np.searchsorted(REGION_CODES, compounds["region_code"].to_numpy())
    rate = (
        visits_per_year
        * TYPE_VISIT_RATE[type_idx]
        * REGION_VISIT_RATE[region_idx]
        * (1.0 + 0.3 * compounds["old_compound"].to_numpy())
        * (compounds["area_m2"].to_numpy() / 50_000) ** 0.2
    )
    counts = rng.poisson(rate * len(day_dates) / 365.25)
    compound_idx = np.repeat(np.arange(len(compounds)), counts)
    weights = _day_weights(day_dates)
    day_idx = rng.choice(len(day_dates), len(compound_idx), p=weights / weights.sum())
    return compound_idx, day_idx, np.zeros(len(compound_idx), dtype=np.int8)


def _complaints(rng, compounds: pd.DataFrame, world: _Dynamics):
    n_compounds, n_months = len(compounds), world.quality.shape[1]
    first_day = np.searchsorted(world.month_of_day, np.arange(n_months))
    month_len = np.diff(np.append(first_day, len(world.day_dates)))
    compound_grid = np.repeat(np.arange(n_compounds), n_months)
    month_grid = np.tile(np.arange(n_months), n_compounds)
    manager = world.managers.at(compound_grid, first_day[month_grid])
    size = np.log(compounds["area_m2"].to_numpy() / 50_000)
    log_rate = (
        np.log(COMPLAINT_BASE_PER_MONTH)
        - COMPLAINT_RISK_SLOPE * world.quality[manager, month_grid]
        + (0.5 * world.static_logit + 0.3 * size)[compound_grid]
    )
    counts = rng.poisson(np.exp(log_rate))
    compound_idx = np.repeat(compound_grid, counts)
    month_idx = np.repeat(month_grid, counts)
    day_idx = first_day[month_idx] + (rng.random(len(month_idx)) * month_len[month_idx]).astype(
        np.int64
    )
    order = np.lexsort((compound_idx, day_idx))
    compound_idx, day_idx, month_idx = compound_idx[order], day_idx[order], month_idx[order]
    manager = world.managers.at(compound_idx, day_idx)
    p_verified = 1 / (1 + np.exp(0.5 + world.quality[manager, month_idx]))
    complaints = pd.DataFrame(
        {
            "complaint_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "compound_id": compound_idx.astype(np.int64) + 1,
            "enterprise_id": manager.astype(np.int64) + 1,
            "date": world.day_dates[day_idx].astype("datetime64[ns]"),
            "verified": rng.random(len(order)) < p_verified,
        }
    )
    return complaints, (compound_idx, day_idx)


def _append_complaint_visits(rng, visits, complaint_events, days: int):
    """A share of complaints sends an inspector within 2 to 10 days."""
    compound_idx, day_idx, kind = visits
    complaint_compound, complaint_day = complaint_events
    triggers = np.nonzero(rng.random(len(complaint_day)) < COMPLAINT_TRIGGERS_VISIT)[0]
    visit_day = complaint_day[triggers] + rng.integers(2, 11, len(triggers))
    keep = visit_day < days
    return (
        np.concatenate([compound_idx, complaint_compound[triggers][keep]]),
        np.concatenate([day_idx, visit_day[keep]]),
        np.concatenate([kind, np.full(int(keep.sum()), 2, dtype=np.int8)]),
    )


def _inspect(rng, world: _Dynamics, visits) -> pd.DataFrame:
    compound_idx, day_idx, kind = visits
    winter = _winter(world.day_dates)
    found = _draw_findings(rng, world.logit(compound_idx, day_idx), winter[day_idx])
    needs_follow_up = (found["n_ordinary"] + found["n_serious"] > 0) & (
        rng.random(len(compound_idx)) < FOLLOW_UP_PROBABILITY
    )
    follow_day = day_idx[needs_follow_up] + rng.integers(10, 41, int(needs_follow_up.sum()))
    keep = follow_day < len(world.day_dates)
    follow_compound = compound_idx[needs_follow_up][keep]
    follow_day = follow_day[keep]
    follow_logit = world.logit(follow_compound, follow_day) - RECTIFICATION_EFFECT
    follow_found = _draw_findings(rng, follow_logit, winter[follow_day])

    all_compound = np.concatenate([compound_idx, follow_compound])
    all_day = np.concatenate([day_idx, follow_day])
    all_kind = np.concatenate([kind, np.ones(len(follow_compound), dtype=np.int8)])
    order = np.lexsort((all_compound, all_day))
    all_compound, all_day, all_kind = all_compound[order], all_day[order], all_kind[order]
    columns = {
        key: np.concatenate([found[key], follow_found[key]])[order]
        for key in ("n_minor", "n_ordinary", "n_serious", "codes")
    }
    return pd.DataFrame(
        {
            "inspection_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "compound_id": all_compound.astype(np.int64) + 1,
            "enterprise_id": world.managers.at(all_compound, all_day).astype(np.int64) + 1,
            "date": world.day_dates[all_day].astype("datetime64[ns]"),
            "kind": pd.Categorical.from_codes(all_kind, ("routine", "follow_up", "complaint")),
            "n_minor": columns["n_minor"],
            "n_ordinary": columns["n_ordinary"],
            "n_serious": columns["n_serious"],
            "codes": columns["codes"].astype(object),
        }
    )


def _draw_findings(rng, logit: np.ndarray, winter: np.ndarray) -> dict[str, np.ndarray]:
    n = len(logit)
    counts = {sev: np.zeros(n, dtype=np.int16) for sev in ("minor", "ordinary", "serious")}
    codes = np.full(n, "", dtype=np.dtypes.StringDType())
    for code, severity, base in INSPECTION_CODES:
        p = 1.0 / (1.0 + np.exp(-(base + SEVERITY_SLOPE[severity] * logit)))
        hit = rng.random(n) < p
        if code == SNOW_ICE_CODE:
            hit &= winter
        counts[severity] += hit
        separator = np.where(codes == "", "", ";")
        codes = np.where(hit, np.strings.add(np.strings.add(codes, separator), code), codes)
    return {
        "n_minor": counts["minor"],
        "n_ordinary": counts["ordinary"],
        "n_serious": counts["serious"],
        "codes": codes,
    }


def _awards(rng, quality: np.ndarray, day_dates: np.ndarray, month_of_day: np.ndarray):
    n_enterprises, n_months = quality.shape
    years = range(0, n_months, 12)
    rows_enterprise, rows_day = [], []
    for first_month in years:  # one draw per year, vectorised over enterprises
        p = 1.0 / (1.0 + np.exp(3.0 - 1.5 * quality[:, first_month]))
        winners = np.nonzero(rng.random(n_enterprises) < p)[0]
        days_in_year = np.nonzero(
            (month_of_day >= first_month) & (month_of_day < first_month + 12)
        )[0]
        rows_enterprise.append(winners)
        rows_day.append(rng.choice(days_in_year, len(winners)))
    enterprise_idx = np.concatenate(rows_enterprise)
    day_idx = np.concatenate(rows_day)
    order = np.lexsort((enterprise_idx, day_idx))
    code_idx = rng.choice(len(AWARD_CODES), len(order), p=AWARD_WEIGHTS)
    return pd.DataFrame(
        {
            "award_id": np.arange(1, len(order) + 1, dtype=np.int64),
            "enterprise_id": enterprise_idx[order].astype(np.int64) + 1,
            "date": day_dates[day_idx[order]].astype("datetime64[ns]"),
            "code": pd.Categorical.from_codes(code_idx, AWARD_CODES),
        }
    )


def _truth(compounds: pd.DataFrame, world: _Dynamics) -> pd.DataFrame:
    n_compounds, n_months = len(compounds), world.quality.shape[1]
    first_day = np.searchsorted(world.month_of_day, np.arange(n_months))
    compound_grid = np.repeat(np.arange(n_compounds), n_months)
    day_grid = np.tile(first_day, n_compounds)
    manager = world.managers.at(compound_grid, day_grid)
    logit = world.logit(compound_grid, day_grid).astype(np.float32)
    p_clean = np.ones_like(logit)
    for _code, severity, base in INSPECTION_CODES:
        if severity != "minor":
            p_clean *= 1.0 - 1.0 / (1.0 + np.exp(-(base + SEVERITY_SLOPE[severity] * logit)))
    return pd.DataFrame(
        {
            "compound_id": compound_grid.astype(np.int64) + 1,
            "enterprise_id": manager.astype(np.int64) + 1,
            "month": world.day_dates[day_grid].astype("datetime64[ns]"),
            "quality": world.quality[manager, world.month_of_day[day_grid]].astype(np.float32),
            "p_violation": (1.0 - p_clean).astype(np.float32),
        }
    )
