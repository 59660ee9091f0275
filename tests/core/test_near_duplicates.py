"""The feed copies only training rows, and a blocking check finds a test row copied into training."""

import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES, TARGET

from bodyfat_assets.core.near_duplicates import NEAR_DUPLICATE_BODYFAT, RELATIVE_JITTER, near_duplicate_pairs
from bodyfat_assets.core.splits import SPLIT_COLUMN, seed_splits, train_test_frames
from bodyfat_assets.defs.data.checks import splits_no_near_duplicates
from bodyfat_assets.feed import away_from, seed_training_rows, synthetic_rows


@pytest.fixture(scope="module")
def splits(seed_frame) -> pd.DataFrame:
    return seed_splits(seed_frame, 0.2, 42)


def with_copy_in_train(splits: pd.DataFrame, test_position: int, scale: float, bodyfat_shift: float) -> pd.DataFrame:
    _, test = train_test_frames(splits)
    copy = test.iloc[[test_position]].copy()
    copy[list(FEATURE_NAMES)] = copy[list(FEATURE_NAMES)] * scale
    copy["BodyFat"] += bodyfat_shift
    copy[SPLIT_COLUMN], copy["source"] = "train", "copied-1"
    return pd.concat([splits, copy], ignore_index=True)


def test_the_check_fails_on_a_jittered_copy_of_a_test_row_in_training(splits):
    leaked = with_copy_in_train(splits, 5, scale=1 + RELATIVE_JITTER / 2, bodyfat_shift=0.6)
    result = splits_no_near_duplicates(leaked)
    assert not result.passed and result.metadata["near_duplicate_pairs"].value == 1
    assert result.metadata["test_rows_with_a_copy_in_train"].value == 1


def test_the_check_passes_on_the_real_split_for_every_split_seed(seed_frame):
    for split_seed in range(20):
        result = splits_no_near_duplicates(seed_splits(seed_frame, 0.2, split_seed))
        assert result.passed, f"split seed {split_seed}: {result.metadata['pairs']}"


def test_a_relabelled_copy_is_evidence_not_a_leak(splits):
    relabelled = with_copy_in_train(splits, 5, scale=1.0, bodyfat_shift=NEAR_DUPLICATE_BODYFAT + 5)
    assert splits_no_near_duplicates(relabelled).passed


def test_the_old_feed_leak_is_caught(splits):
    """What `make feed` did before: 2 files of 25 jittered copies drawn from every cleaned seed row."""
    train, test = train_test_frames(splits)
    fed = synthetic_rows(50, np.random.default_rng(1), labeled=True, base=pd.concat([train, test]))
    assert not near_duplicate_pairs(test, pd.concat([train, fed], ignore_index=True)).empty


def test_feed_output_has_no_near_duplicate_of_any_seed_test_row(splits):
    _, test = train_test_frames(splits)
    fed = synthetic_rows(5000, np.random.default_rng(2), labeled=True, base=seed_training_rows(0.2, 42))
    assert near_duplicate_pairs(test, fed).empty
    # the same check finds its own copies: the feed's rows are near-duplicates of the rows they came from
    assert not near_duplicate_pairs(fed.head(200), seed_training_rows(0.2, 42)).empty


def test_feed_redraws_a_row_that_lands_near_a_test_row(splits):
    """A jittered training row can land within the tolerance of a real test neighbour by chance: the feed draws it
    again, so `make feed` never trips the blocking check."""
    train, test = train_test_frames(splits)
    planted = synthetic_rows(20, np.random.default_rng(3), labeled=True, base=train)
    columns = [*FEATURE_NAMES, TARGET.name]
    planted.loc[5, columns] = test.iloc[0][columns].to_numpy()
    assert not near_duplicate_pairs(test, planted).empty
    cleared = away_from(planted.copy(), test, np.random.default_rng(4), train)
    assert near_duplicate_pairs(test, cleared).empty
    assert len(cleared) == 20 and cleared.drop(index=5).equals(planted.drop(index=5))
