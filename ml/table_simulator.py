"""A second, differently made world: an analyst's table of building-years, for checking that
`python -m ml evaluate` (and the model behind it) finds what is there in data it was not tuned
on. Nothing here shares code or shape with `ml.simulator`.

One row per building and year, as a city's open-data table has it: a street code among ~1,000
(text), the building type and the owner's name (text), the year built, floors, units, whether it
has a lift, the survey date, last year's violation count (the analyst's baseline ranking) and a
0/1 outcome: a violation found that year.

The hidden truth is not additive in the observed columns: a street effect (most streets
near zero, a few bad), a threshold on age (buildings older than 30 years jump), an interaction
(tall buildings without a lift), a persistent building effect that last year's count only
partly reveals, and a year trend. `truth` is the probability behind each outcome, so an
oracle's precision bounds what any model can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TYPES = ("住宅", "商住", "公寓", "保障房", "办公")
TYPE_EFFECT = np.array([0.0, 0.35, 0.2, 0.5, -0.4])


@dataclass(frozen=True)
class BuildingTable:
    table: pd.DataFrame
    truth: np.ndarray  # the true probability of each row's outcome


def simulate_table(
    *, n_buildings: int = 20_000, years: int = 5, n_streets: int = 1_000, seed: int = 7
) -> BuildingTable:
    rng = np.random.default_rng(seed)
    street = rng.integers(0, n_streets, n_buildings)
    street_effect = rng.normal(0, 0.25, n_streets) + np.where(
        rng.random(n_streets) < 0.05, 1.2, 0.0
    )
    kind = rng.choice(len(TYPES), n_buildings, p=[0.6, 0.1, 0.1, 0.1, 0.1])
    built = rng.integers(1960, 2021, n_buildings)
    floors = np.clip(rng.gamma(2.0, 4.0, n_buildings).astype(int) + 1, 1, 40)
    lift = (floors > 6) & (rng.random(n_buildings) < 0.8)
    units = np.maximum(1, (floors * rng.normal(8, 3, n_buildings)).astype(int))
    hidden = rng.normal(0, 0.8, n_buildings)  # management quality nobody records
    owners = np.array([f"业主单位{i:04d}" for i in rng.integers(0, 400, n_buildings)])
    rows = []
    previous = rng.poisson(0.3, n_buildings)
    truth_all = []
    for index in range(years):
        year = 2019 + index
        age = year - built
        logit = (
            -2.6
            + street_effect[street]
            + TYPE_EFFECT[kind]
            + np.where(age > 30, 0.9, 0.0)
            + np.where((floors > 9) & ~lift, 0.8, 0.0)
            + hidden
            + 0.12 * index
        )
        probability = 1 / (1 + np.exp(-logit))
        outcome = (rng.random(n_buildings) < probability).astype(int)
        survey = pd.to_datetime(f"{year}-01-01") + pd.to_timedelta(
            rng.integers(0, 365, n_buildings), "D"
        )
        rows.append(
            pd.DataFrame(
                {
                    "building_id": np.arange(n_buildings),
                    "year": year,
                    "street_code": [f"S{s:04d}" for s in street],
                    "building_type": np.asarray(TYPES)[kind],
                    "owner": owners,
                    "year_built": built,
                    "floors": floors,
                    "units": units,
                    "has_lift": lift,
                    "survey_date": survey.strftime("%Y-%m-%d"),
                    "violations_last_year": previous,
                    "violation": outcome,
                }
            )
        )
        truth_all.append(probability)
        # Last year's count sees this year's outcome through a noisy window (a few visits).
        previous = rng.poisson(np.where(outcome == 1, 1.4, 0.15))
    return BuildingTable(table=pd.concat(rows, ignore_index=True), truth=np.concatenate(truth_all))
