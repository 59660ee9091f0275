import pandas as pd
import pytest

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.splits import stratified_split, train_test_frames


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
