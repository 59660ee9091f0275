import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import ROW_ID

from bodyfat_assets.core.cleaning import SOURCE, clean
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.landing.rows import raw_rows
from bodyfat_assets.core.splits import (
    SPLIT_COLUMN,
    seed_splits,
    split_rows,
    stratified_split,
    train_test_frames,
    trusted_holdout,
)
from bodyfat_assets.testing.landing_files import repeated_measurements


@pytest.fixture(scope="module")
def cleaned(seed_frame):
    return clean(seed_frame).cleaned


def test_split_is_seeded_and_sized(cleaned):
    a = stratified_split(cleaned, 0.2, seed=7)
    b = stratified_split(cleaned, 0.2, seed=7)
    c = stratified_split(cleaned, 0.2, seed=8)
    assert a["split"].equals(b["split"])
    assert not a["split"].equals(c["split"])
    assert (a["split"] == "test").sum() == 49  # ceil(245 * 0.2)


@pytest.mark.parametrize("fraction", [0.1, 0.3])
def test_test_fraction_is_configurable(cleaned, fraction):
    train, test = train_test_frames(stratified_split(cleaned, fraction))
    assert abs(len(test) / len(cleaned) - fraction) < 0.01
    assert set(train["row_id"]).isdisjoint(test["row_id"])


def test_stratification_spreads_the_target_range(cleaned):
    _, test = train_test_frames(stratified_split(cleaned, 0.2, seed=1))
    deciles = pd.qcut(cleaned["BodyFat"].rank(method="first"), 10, labels=False)
    in_test = deciles[cleaned["row_id"].isin(test["row_id"])]
    assert in_test.nunique() == 10, "every target decile is represented in the test split"


def test_invalid_fraction_is_refused(cleaned):
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(cleaned, 1.5)


def test_tiny_frames_still_split():
    df = pd.DataFrame({"row_id": range(6), "BodyFat": [5, 10, 15, 20, 25, 30]})
    train, test = train_test_frames(stratified_split(df, 0.2))
    assert len(test) == 2 and len(train) == 4


def landed_file(seed_frame: pd.DataFrame, source: str, n: int, random_state: int = 3, **extra) -> pd.DataFrame:
    """`n` plausible new rows: seed measurements scaled by 5 %, so they are no seed row's near-duplicate (rows drawn
    twice are each other's)."""
    rows = seed_frame.drop(columns=["Density"]).sample(n, replace=True, random_state=random_state)
    rows = rows.reset_index(drop=True)
    features = [c for c in rows.columns if c not in ("BodyFat", "Age")]
    rows[features] = rows[features] * 1.05
    return raw_rows(rows.assign(**extra), source)


def test_the_seed_test_rows_stay_in_test_whatever_lands(seed_frame):
    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    alone = trusted_holdout(split_rows(seed, 0.2, 42))
    grown = split_rows(pd.concat([seed, landed_file(seed_frame, "poison-1", 400)], ignore_index=True), 0.2, 42)
    holdout = trusted_holdout(grown)
    assert len(alone) == 49 and set(alone[SOURCE]) == {SEED_PARTITION}
    assert list(holdout[ROW_ID]) == list(alone[ROW_ID]), "400 landed rows replace none of the seed's test rows"
    landed = grown[grown[SOURCE] == "poison-1"]
    assert 40 < (landed[SPLIT_COLUMN] == "test").sum() < 120, "landed rows are split among themselves"


def test_synthetic_rows_only_train(seed_frame):
    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    fed = landed_file(seed_frame, "synthetic-1", 100, synthetic=True)
    real = landed_file(seed_frame, "real-1", 100, random_state=4)
    splits = split_rows(pd.concat([seed, fed, real], ignore_index=True), 0.2, 42)
    assert set(splits.loc[splits[SOURCE] == "synthetic-1", SPLIT_COLUMN]) == {"train"}
    assert (splits.loc[splits[SOURCE] == "real-1", SPLIT_COLUMN] == "test").any()


def test_seed_splits_are_the_pipelines_seed_split(seed_frame):
    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    with_landed = split_rows(pd.concat([seed, landed_file(seed_frame, "a-1", 30)], ignore_index=True), 0.2, 7)
    assert list(trusted_holdout(seed_splits(seed_frame, 0.2, 7))[ROW_ID]) == list(trusted_holdout(with_landed)[ROW_ID])


def test_splits_without_seed_rows_have_no_trusted_holdout_and_say_so(seed_frame):
    landed_only = split_rows(landed_file(seed_frame, "a-1", 50), 0.2, 42)
    with pytest.raises(ValueError, match="trusted holdout is empty"):
        trusted_holdout(landed_only)


def test_a_landed_copy_of_a_seed_row_takes_its_side(seed_frame):
    """Landing the seed's first 20 rows again (as a test once did) must not leak the holdout into training, nor
    make the blocking near-duplicate check stop every retrain."""
    from bodyfat_assets.core.near_duplicates import near_duplicate_pairs
    from bodyfat_assets.defs.data.checks import splits_no_near_duplicates

    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    again = clean(raw_rows(seed_frame.drop(columns=["Density"]).iloc[:20], "again-1")).cleaned
    splits = split_rows(pd.concat([seed, again], ignore_index=True), 0.2, 42)
    holdout = trusted_holdout(splits)
    copied = set(holdout[ROW_ID]) & set(again[ROW_ID])
    assert copied, "the first 20 seed rows include holdout rows"
    landed = splits[splits[SOURCE] == "again-1"]
    assert set(landed.loc[landed[ROW_ID].isin(copied), SPLIT_COLUMN]) == {"test"}
    assert set(landed.loc[~landed[ROW_ID].isin(copied), SPLIT_COLUMN]) == {"train"}
    train, test = train_test_frames(splits)
    assert near_duplicate_pairs(test, train).empty
    assert splits_no_near_duplicates(splits).passed


def new_men(seed_frame: pd.DataFrame, n: int, random_state: int) -> pd.DataFrame:
    """`n` seed men with every measurement but age scaled by 5 %: no seed row's near-duplicate."""
    men = seed_frame.drop(columns=["Density"]).sample(n, random_state=random_state).reset_index(drop=True)
    men[[c for c in men.columns if c not in ("BodyFat", "Age")]] *= 1.05
    return men


def test_repeated_measurements_of_one_man_share_a_side_and_pass_the_blocking_check(seed_frame):
    from bodyfat_assets.defs.data.checks import splits_no_near_duplicates

    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    visits = raw_rows(repeated_measurements(new_men(seed_frame, 40, 5), 400, random_state=5), "visits-1")
    splits = split_rows(pd.concat([seed, clean(visits).cleaned], ignore_index=True), 0.2, 42)
    result = splits_no_near_duplicates(splits)
    assert result.passed, result.metadata["pairs"]
    landed = splits[splits[SOURCE] == "visits-1"]
    assert 0 < (landed[SPLIT_COLUMN] == "test").sum() < len(landed), "the file's men are split among themselves"


def test_a_man_measured_again_in_a_later_file_keeps_his_side(seed_frame):
    from bodyfat_assets.defs.data.checks import splits_no_near_duplicates

    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    men = new_men(seed_frame, 40, 6)
    first = raw_rows(repeated_measurements(men, 60, random_state=6), "visits-1")
    again = raw_rows(repeated_measurements(men, 60, random_state=7), "visits-2")
    splits = split_rows(pd.concat([seed, clean(first).cleaned, clean(again).cleaned], ignore_index=True), 0.2, 42)
    assert splits_no_near_duplicates(splits).passed
    assert set(splits.loc[splits[SOURCE].isin(["visits-1", "visits-2"]), SPLIT_COLUMN]) == {"train", "test"}


def test_repeated_measurements_of_seed_men_pass_the_blocking_check(seed_frame):
    """400 visits of seed men, 2 % apart (the feed's jitter). A visit further than the jitter from its seed row but
    within it of another visit used to take a side by its own hash."""
    from bodyfat_assets.defs.data.checks import splits_no_near_duplicates

    seed = clean(raw_rows(seed_frame, SEED_PARTITION)).cleaned
    visits = raw_rows(repeated_measurements(seed_frame, 400, random_state=11, jitter=0.02), "visits-1")
    splits = split_rows(pd.concat([seed, clean(visits).cleaned], ignore_index=True), 0.2, 42)
    assert splits_no_near_duplicates(splits).passed
    assert list(trusted_holdout(splits)[ROW_ID]) == list(trusted_holdout(split_rows(seed, 0.2, 42))[ROW_ID])


def test_a_group_is_test_with_the_test_fraction_whatever_its_size(seed_frame):
    """The side of a group comes from one member picked by a second hash: groups of 8 copies are not test more
    often than single rows (the smallest of 8 uniforms is below 0.2 five times in six)."""
    men = new_men(seed_frame, 200, 8)
    copies = pd.concat([men] * 8, ignore_index=True)
    features = [c for c in men.columns if c not in ("BodyFat", "Age")]
    # Exact copies would be quarantined as duplicates: each copy is a measurement again, 0.3 % apart.
    copies[features] *= np.random.default_rng(8).normal(1, 0.003, (len(copies), len(features)))
    copies = raw_rows(copies, "copies-1")
    splits = split_rows(clean(copies).cleaned, 0.2, 42)
    per_man = splits.groupby((splits[ROW_ID] - 1) % len(men))[SPLIT_COLUMN].agg(set)
    assert (per_man.map(len) == 1).all(), "all 8 copies of a man take one side"
    assert 0.1 < (per_man.map(min) == "test").mean() < 0.32
