from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml.simulator import (
    INSPECTION_CODES,
    REGION_CODES,
    WINTER_MONTHS,
    oracle_risk,
    simulate,
)

SEVERITY_OF = {code: severity for code, severity, _ in INSPECTION_CODES}


def test_same_seed_same_world_other_seed_other_world():
    first = simulate(50, 200, date(2022, 1, 1), 400, seed=7)
    again = simulate(50, 200, date(2022, 1, 1), 400, seed=7)
    other = simulate(50, 200, date(2022, 1, 1), 400, seed=8)
    pd.testing.assert_frame_equal(first.inspections, again.inspections)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    assert not first.inspections["date"].equals(other.inspections["date"])


def test_counts_match_the_codes_and_their_severities(world):
    sample = world.inspections.head(5000)
    for row in sample.itertuples():
        codes = row.codes.split(";") if row.codes else []
        severities = [SEVERITY_OF[c] for c in codes]
        assert severities.count("minor") == row.n_minor
        assert severities.count("ordinary") == row.n_ordinary
        assert severities.count("serious") == row.n_serious


def test_snow_and_ice_only_in_winter_and_winter_finds_more(world):
    inspections = world.inspections
    month = inspections["date"].dt.month
    snow = inspections["codes"].str.contains("SNOW-ICE")
    assert snow.sum() > 0
    assert set(month[snow]) <= set(WINTER_MONTHS)
    bad = (inspections["n_ordinary"] + inspections["n_serious"]) > 0
    winter = month.isin(WINTER_MONTHS)
    assert bad[winter].mean() > bad[~winter].mean()


def test_inspections_are_not_uniform_over_the_week(world):
    weekday = world.inspections["date"].dt.dayofweek
    counts = np.bincount(weekday, minlength=7)
    assert counts[6] * 5 < counts[2]  # Sundays are rare, Wednesdays ordinary


def test_tables_are_consistent(world):
    assert set(world.compounds["region_code"]) <= set(REGION_CODES.tolist())
    assert world.inspections["date"].min() >= pd.Timestamp(world.start)
    assert world.inspections["date"].max() < pd.Timestamp(world.start) + pd.Timedelta(
        days=world.days
    )
    assert world.inspections["inspection_id"].is_unique
    assert world.enterprises["n_compounds"].sum() == len(world.compounds)
    assert set(world.inspections["kind"].unique()) == {"routine", "follow_up", "complaint"}


def test_compounds_at_a_day_carry_the_manager_of_every_visit_that_day(world):
    # given the days with visits to compounds that changed hands
    changed = world.inspections[
        world.inspections["compound_id"].isin(world.handovers["compound_id"])
    ]
    sample = changed.drop_duplicates("date").sample(200, random_state=0)
    for day, visits in changed[changed["date"].isin(sample["date"])].groupby("date"):
        # when
        managers = world.compounds_at(day.date()).set_index("compound_id")["enterprise_id"]
        # then
        assert managers.loc[visits["compound_id"]].tolist() == visits["enterprise_id"].tolist()


def test_handovers_are_real_changes_and_compounds_end_with_the_new_manager(world):
    handovers = world.handovers.set_index("compound_id")
    today = world.compounds.set_index("compound_id")["enterprise_id"]
    assert 0 < len(handovers) < len(world.compounds)
    assert (handovers["previous_enterprise_id"] != today.loc[handovers.index]).all()
    last_day = (pd.Timestamp(world.start) + pd.Timedelta(days=world.days)).date()
    pd.testing.assert_frame_equal(world.compounds_at(last_day), world.compounds)
    first = world.compounds_at(world.start).set_index("compound_id")["enterprise_id"]
    moved = handovers[handovers["date"] > pd.Timestamp(world.start)]
    assert first.loc[moved.index].tolist() == moved["previous_enterprise_id"].tolist()


def test_hidden_quality_drives_findings_complaints_and_awards(world):
    # Enterprises in the worst and best quality quartile at the start of the simulation
    start_quality = world.truth[world.truth["month"] == world.truth["month"].min()]
    quality = start_quality.groupby("enterprise_id")["quality"].first()
    worst = quality[quality <= quality.quantile(0.25)].index
    best = quality[quality >= quality.quantile(0.75)].index
    first_year = world.inspections[world.inspections["date"] < pd.Timestamp("2022-01-01")]
    bad = (first_year["n_ordinary"] + first_year["n_serious"]) > 0
    in_worst = first_year["enterprise_id"].isin(worst)
    in_best = first_year["enterprise_id"].isin(best)
    assert bad[in_worst].mean() > 2 * bad[in_best].mean()
    complaints = world.complaints["enterprise_id"]
    assert complaints.isin(worst).sum() > complaints.isin(best).sum()
    awards = world.awards["enterprise_id"]
    assert awards.isin(best).sum() > awards.isin(worst).sum()


def test_oracle_risk_is_a_probability_per_compound(world):
    risk = oracle_risk(world, date(2023, 1, 1))
    assert len(risk) == len(world.compounds)
    assert risk.between(0, 1).all()


def test_invalid_sizes_are_rejected():
    with pytest.raises(ValueError, match="positive"):
        simulate(0, 10, date(2022, 1, 1), 100, seed=1)
