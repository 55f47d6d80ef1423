from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml.features import (
    DAYS_SINCE_CAP,
    FEATURE_NAMES,
    EventTables,
    build_dataset,
    build_features,
    build_labels,
    enterprise_features,
    past_findings_score,
    to_days,
)

CUTOFF = date(2023, 1, 1)


def _tables(inspections: list[tuple], complaints=(), awards=()) -> EventTables:
    """Compound 1 (enterprise 10, 1995, residential) and compound 2 (enterprise 20, 2010,
    hospital). inspections: (compound_id, enterprise_id, date, minor, ordinary, serious)."""
    compounds = pd.DataFrame(
        {
            "compound_id": [1, 2],
            "enterprise_id": [10, 20],
            "area_m2": [80_000.0, 20_000.0],
            "compound_type": ["residential", "hospital"],
            "build_year": [1995, 2010],
        }
    )
    frame = pd.DataFrame(
        inspections,
        columns=["compound_id", "enterprise_id", "date", "n_minor", "n_ordinary", "n_serious"],
    )
    frame.insert(0, "inspection_id", range(1, len(frame) + 1))
    return EventTables(
        compounds=compounds,
        inspections=frame,
        complaints=pd.DataFrame(list(complaints), columns=["compound_id", "enterprise_id", "date"]),
        awards=pd.DataFrame(list(awards), columns=["enterprise_id", "date"]),
    )


def test_counts_by_severity_and_window_use_only_days_before_the_cutoff():
    # given compound 1 inspected 31 days before (1 ordinary), 214 days before (2 minor) and on
    # the cutoff day itself (1 serious, must not count)
    tables = _tables(
        [
            (1, 10, "2022-12-01", 0, 1, 0),
            (1, 10, "2022-06-01", 2, 0, 0),
            (1, 10, "2023-01-01", 0, 0, 1),
        ],
        complaints=[(1, 10, "2022-10-01"), (1, 10, "2022-03-01")],
        awards=[(10, "2021-01-01")],
    )
    # when
    row = build_features(tables, CUTOFF).loc[1]
    # then
    assert row["ordinary_90d"] == 1 and row["ordinary_180d"] == 1 and row["ordinary_365d"] == 1
    assert row["minor_90d"] == 0 and row["minor_180d"] == 0 and row["minor_365d"] == 2
    assert row["serious_365d"] == 0
    assert row["inspections_365d"] == 2 and row["violation_visits_365d"] == 1
    assert row["days_since_last_inspection"] == 31 and row["never_inspected"] == 0
    assert row["days_since_last_violation"] == 31
    # 2022-10-01 is 92 days before, 2022-03-01 is 306 days before
    assert row["complaints_180d"] == 1 and row["complaints_365d"] == 2
    # 2021-01-01 is 730 days before: within the 1095-day award memory
    assert row["ent_awards_1095d"] == 1
    assert row["building_age_years"] == 28 and row["old_compound"] == 1
    assert row["area_10k_m2"] == 8.0 and row["type_residential"] == 1
    assert row["cutoff_month"] == 1


def test_never_inspected_compound_gets_capped_days_and_a_flag():
    tables = _tables([(1, 10, "2022-12-01", 0, 1, 0)])
    row = build_features(tables, CUTOFF).loc[2]
    assert row["never_inspected"] == 1
    assert row["days_since_last_inspection"] == DAYS_SINCE_CAP
    assert row["type_hospital"] == 1 and row["old_compound"] == 0


def test_enterprise_violation_rate_is_shrunk_towards_the_population():
    # given enterprise 10 with 1 bad visit of 1 and enterprise 20 with 0 bad of 3
    tables = _tables(
        [
            (1, 10, "2022-12-01", 0, 1, 0),
            (2, 20, "2022-11-01", 0, 0, 0),
            (2, 20, "2022-10-01", 0, 0, 0),
            (2, 20, "2022-09-01", 0, 0, 0),
        ]
    )
    # when
    ent = enterprise_features(tables, CUTOFF)
    # then: population rate 1/4, 5 pseudo-visits: (1 + 5/4) / (1 + 5) and (0 + 5/4) / (3 + 5)
    assert ent.loc[10, "ent_violation_rate_365d"] == pytest.approx(2.25 / 6)
    assert ent.loc[20, "ent_violation_rate_365d"] == pytest.approx(1.25 / 8)
    assert ent.loc[20, "ent_inspections_365d"] == 3


def test_features_have_the_documented_columns_for_every_compound():
    features = build_features(_tables([]), CUTOFF)
    assert tuple(features.columns) == FEATURE_NAMES
    assert features.index.tolist() == [1, 2]


def test_labels_come_from_inspections_in_the_window_only():
    # given visits on the cutoff (clean), +179 days (ordinary) and +180 days (outside)
    tables = _tables(
        [
            (1, 10, "2023-01-01", 3, 0, 0),
            (1, 10, "2023-06-29", 0, 1, 0),
            (2, 20, "2023-06-30", 0, 0, 1),
        ]
    )
    # when
    labels = build_labels(tables, CUTOFF, horizon_days=180)
    # then: compound 2 was not inspected inside the window, so it has no label at all
    assert labels.to_dict("list") == {
        "compound_id": [1],
        "label": [1],
        "n_inspections": [2],
        "first_inspection_date": [pd.Timestamp("2023-01-01")],
    }


def test_minor_findings_alone_are_a_negative_label():
    tables = _tables([(1, 10, "2023-02-01", 4, 0, 0)])
    assert build_labels(tables, CUTOFF)["label"].tolist() == [0]


def test_timezone_aware_timestamps_become_shanghai_days():
    # 2022-12-31 17:30 UTC is 2023-01-01 01:30 in Shanghai
    stamps = pd.Series(pd.to_datetime(["2022-12-31T17:30:00Z"]))
    assert to_days(stamps).tolist() == [np.datetime64("2023-01-01", "D").astype(object)]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="'inspections' lacks columns: n_serious"):
        EventTables(
            compounds=_tables([]).compounds,
            inspections=pd.DataFrame(
                columns=[
                    "inspection_id",
                    "compound_id",
                    "enterprise_id",
                    "date",
                    "n_minor",
                    "n_ordinary",
                ]
            ),
            complaints=pd.DataFrame(columns=["compound_id", "enterprise_id", "date"]),
            awards=pd.DataFrame(columns=["enterprise_id", "date"]),
        )


@pytest.mark.parametrize("cutoff", [date(2022, 3, 1), date(2022, 11, 15), date(2023, 6, 1)])
def test_no_leakage_future_events_do_not_change_features(world, cutoff):
    # given features at the cutoff
    tables = world.event_tables()
    before = build_features(tables, cutoff)
    # when every event on or after the cutoff is made worse and more future events are added
    future = pd.Timestamp(cutoff)
    inspections = tables.inspections.copy()
    later = inspections["date"] >= future
    inspections.loc[later, ["n_minor", "n_ordinary", "n_serious"]] = 9
    extra = inspections.loc[later].assign(inspection_id=lambda d: d["inspection_id"] + 10**7)
    complaints = pd.concat(
        [tables.complaints, tables.complaints.assign(date=future + pd.Timedelta(days=1))]
    )
    awards = pd.concat([tables.awards, tables.awards.assign(date=future)])
    changed = EventTables(
        compounds=tables.compounds,
        inspections=pd.concat([inspections, extra]),
        complaints=complaints,
        awards=awards,
    )
    after = build_features(changed, cutoff)
    # then
    pd.testing.assert_frame_equal(before, after)


def test_each_cutoff_sees_the_managers_of_its_own_day():
    # given compound 2 handed from enterprise 30 to 20 on 2023-03-01, enterprise 30 with two
    # serious findings elsewhere, and labelled visits after both cutoffs
    tables = _tables(
        [
            (1, 10, "2022-12-01", 0, 1, 0),
            (9, 30, "2022-12-01", 0, 0, 2),
            (2, 20, "2023-04-01", 0, 1, 0),
            (2, 20, "2023-06-01", 0, 0, 0),
        ]
    )

    def compounds_at(day: date) -> pd.DataFrame:
        before = day < date(2023, 3, 1)
        return tables.compounds.assign(enterprise_id=[10, 30 if before else 20])

    # when
    dataset = build_dataset(tables, [date(2023, 5, 1), CUTOFF], compounds_at=compounds_at)
    today = build_dataset(tables, [date(2023, 5, 1), CUTOFF])
    # then at the January cutoff compound 2 belongs to enterprise 30 and inherits its record
    january = dataset.features[dataset.compound_ids == 2].iloc[0]
    assert january["ent_serious_365d"] == 2.0 and january["ent_compounds"] == 1.0
    may = dataset.features[dataset.compound_ids == 2].iloc[1]
    assert may["ent_serious_365d"] == 0.0
    assert today.features[today.compound_ids == 2].iloc[0]["ent_serious_365d"] == 0.0
    np.testing.assert_array_equal(dataset.labels, today.labels)


def test_dataset_stacks_cutoffs_and_the_baseline_counts_all_findings(world):
    tables = world.event_tables()
    cutoffs = [date(2022, 6, 1), date(2022, 1, 1)]
    dataset = build_dataset(tables, cutoffs)
    first = build_labels(tables, date(2022, 1, 1))
    assert len(dataset.labels) == len(first) + len(build_labels(tables, date(2022, 6, 1)))
    assert dataset.cutoffs[0] == np.datetime64("2022-01-01")
    assert dataset.labels[: len(first)].tolist() == first["label"].tolist()
    row = dataset.features.iloc[0]
    assert past_findings_score(dataset.features)[0] == (
        row["minor_365d"] + row["ordinary_365d"] + row["serious_365d"]
    )
