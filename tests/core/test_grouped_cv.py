"""Cross-validation keeps a row and its copies in one fold: the feed's copies name their seed row (`origin`), rows
without one are grouped by near-duplicate, and every CV (tuning, residuals, the CV+ interval) uses those groups."""

import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import TARGET, model_features

from bodyfat_assets.core import evaluation
from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.families import build_pipeline
from bodyfat_assets.core.landing.naming import SEED_PARTITION, TRAIN
from bodyfat_assets.core.landing.rows import raw_rows, row_keys
from bodyfat_assets.core.landing.validation import ORIGIN, read_landed_file
from bodyfat_assets.core.splits import cv_groups, grouped_folds, split_rows, trusted_holdout
from bodyfat_assets.core.training import training_data
from bodyfat_assets.core.tuning import TuningConfig, cv_rmse, default_study_name
from bodyfat_assets.feed import away_from, seed_train_and_test_rows, synthetic_rows
from bodyfat_assets.testing.landing_files import csv_bytes

FEATURES = model_features()
# The tuned ensemble's shape (log OLS, lasso and RBF SVR averaged): flexible enough to lean on a copy of a row.
ENSEMBLE = build_pipeline("ensemble", {"lasso_alpha": 0.01, "svr_C": 100, "svr_epsilon": 0.1, "svr_gamma": 0.05},
                          42, FEATURES)


def one_feed(rows: int = 50, seed: int = 7) -> pd.DataFrame:
    """What `make feed` lands: jittered copies of seed training rows, through the file contract, as raw rows."""
    base, holdout = seed_train_and_test_rows(0.2, 42)
    rng = np.random.default_rng(seed)
    copies = away_from(synthetic_rows(rows, rng, labeled=True, base=base), holdout, rng, base)
    return raw_rows(read_landed_file(TRAIN, "synthetic-1.csv", csv_bytes(copies)), "synthetic-1")


@pytest.fixture(scope="module")
def seed_raw(seed_frame):
    return raw_rows(seed_frame, SEED_PARTITION)


@pytest.fixture(scope="module")
def seed_only(seed_raw):
    return split_rows(clean(seed_raw).cleaned, 0.2, 42)


@pytest.fixture(scope="module")
def fed(seed_raw):
    return split_rows(clean(pd.concat([seed_raw, one_feed()], ignore_index=True)).cleaned, 0.2, 42)


def test_the_feeds_copies_name_their_seed_row_through_cleaning_and_splits(fed):
    copies = fed[fed["source"] == "synthetic-1"]
    seed_keys = set(row_keys(fed[fed["source"] == SEED_PARTITION]))
    assert len(copies) == 50 and copies[ORIGIN].str.startswith("seed:").all()
    assert set(copies[ORIGIN]) <= seed_keys
    assert fed.loc[fed["source"] == SEED_PARTITION, ORIGIN].isna().all()


def test_a_copy_shares_its_seed_rows_group_and_real_men_stay_apart(fed, seed_only):
    train = fed[fed["split"] == "train"]
    groups = pd.Series(cv_groups(train), index=train.index)
    key_group = dict(zip(row_keys(train), groups, strict=True))
    copies = train[train[ORIGIN].notna()]
    assert (groups[copies.index] == copies[ORIGIN].map(key_group)).all()
    seed_train = seed_only[seed_only["split"] == "train"]
    assert len(np.unique(cv_groups(seed_train))) == len(seed_train), "no two seed men are one group"


def test_rows_without_an_origin_are_grouped_by_near_duplicate(seed_frame):
    """Visits of one man in a file that names no origin (0.5 % apart): the near-duplicate relation joins them,
    and only them."""
    man = np.random.default_rng(3).integers(0, 10, 60)
    visits = seed_frame.drop(columns=["Density"]).iloc[man].reset_index(drop=True)
    measured = [c for c in visits.columns if c not in ("BodyFat", "Age")]
    visits[measured] *= np.random.default_rng(4).normal(1, 0.005, (len(visits), len(measured)))
    groups = cv_groups(clean(raw_rows(visits, "visits-1")).cleaned)
    assert pd.crosstab(groups, man).astype(bool).sum(axis=1).eq(1).all(), "a group holds one man"
    assert len(np.unique(groups)) == len(np.unique(man)), "a man is one group"


def test_an_origin_in_a_file_groups_its_rows_and_blank_is_no_origin(seed_frame):
    men = seed_frame.drop(columns=["Density"]).iloc[:6].assign(origin=["a", "a", "b", "", "", "b"])
    rows = raw_rows(read_landed_file(TRAIN, "people.csv", csv_bytes(men)), "people-1")
    assert rows[ORIGIN].tolist() == ["a", "a", "b", None, None, "b"]
    groups = cv_groups(clean(rows).cleaned)
    assert groups[0] == groups[1] and groups[2] == groups[5] and len(np.unique(groups)) == 4


def test_no_fold_splits_a_group(fed):
    X, _, groups = training_data(fed, FEATURES)
    for fit, held in grouped_folds(X, 5, 42, groups):
        assert set(groups[fit]).isdisjoint(groups[held])


def test_without_groups_each_row_is_its_own_group(seed_only):
    X, _, groups = training_data(seed_only, FEATURES)
    assert len(np.unique(groups)) == len(X), "the seed's men are no one's copies"
    for plain, grouped in zip(grouped_folds(X, 5, 42), grouped_folds(X, 5, 42, groups), strict=True):
        assert (plain[1] == grouped[1]).all()


def mean_half_width(splits: pd.DataFrame, grouped: bool) -> float:
    X, y, groups = training_data(splits, FEATURES)
    return float(np.mean([evaluation.cv_plus_half_width(ENSEMBLE, X, y, 5, seed, groups=groups if grouped else None)
                          for seed in (0, 1, 2)]))


def test_the_cv_plus_half_width_does_not_shrink_when_only_copies_are_added(seed_only, fed):
    """Ungrouped, 50 copies narrowed this ensemble's interval from ±7.74 to ±7.02 (mean over CV seeds 0-4) and
    the tuned one's from ±7.05 to ±6.57: copies in the fit sat next to their own rows in validation. Grouped it
    stays within the CV seeds' spread (±7.59, seeds ranging 7.58-7.98 on the seed rows alone)."""
    before = mean_half_width(seed_only, grouped=True)
    assert mean_half_width(fed, grouped=False) < 0.95 * before, "the copies' pull exists: ungrouped it shrinks"
    assert mean_half_width(fed, grouped=True) >= 0.97 * before


def test_coverage_on_the_trusted_holdout_stays_with_grouped_folds(fed):
    X, y, groups = training_data(fed, FEATURES)
    half_width = evaluation.cv_plus_half_width(ENSEMBLE, X, y, 5, 42, groups=groups)
    holdout = trusted_holdout(fed)
    predicted = ENSEMBLE.fit(X, y).predict(holdout[FEATURES])
    assert evaluation.interval_coverage(holdout[TARGET.name], predicted, half_width) >= 0.88


def test_cv_rmse_and_residuals_use_the_groups(fed):
    X, y, groups = training_data(fed, FEATURES)
    grouped, ungrouped = cv_rmse(ENSEMBLE, X, y, 5, 42, groups=groups), cv_rmse(ENSEMBLE, X, y, 5, 42)
    assert grouped > ungrouped, "a copy in the fit flatters its validation row"
    residuals = evaluation.cross_validated_residuals(ENSEMBLE, X, y, 5, 42, groups)
    assert np.sqrt(np.mean(residuals ** 2)) > np.sqrt(np.mean(evaluation.cross_validated_residuals(
        ENSEMBLE, X, y, 5, 42) ** 2))


def test_other_groups_are_another_study(fed):
    X, y, groups = training_data(fed, FEATURES)
    config = TuningConfig()
    assert default_study_name(X, y, config, groups) != default_study_name(X, y, config, np.arange(len(X)))
