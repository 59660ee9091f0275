"""Range checks from the feature contract (core/contract_checks.py), and that landing validation and scoring take
their ranges from it rather than from a copy."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME

from bodyfat_assets.core.contract_checks import contract_columns, out_of_range, violations
from bodyfat_assets.core.landing.naming import TRAIN
from bodyfat_assets.core.landing.validation import Reject, read_landed_file
from bodyfat_assets.core.scoring import score

ROWS = pd.DataFrame({"Height": [70.0, 29.5, np.nan, 100.0], "Weight": ["180", "205", "heavy", "600"]})


def test_violations_flag_out_of_range_and_optionally_missing():
    flags = violations(ROWS)
    assert list(flags.columns) == ["Weight", "Height"], "contract order, present columns only"
    assert flags["Height"].tolist() == [False, True, True, True]
    assert flags["Weight"].tolist() == [False, False, True, True]
    lenient = violations(ROWS, missing=False)
    assert lenient["Height"].tolist() == [False, True, False, True] and lenient["Weight"].tolist()[2] is False


def test_out_of_range_says_why_per_row():
    reasons = out_of_range(ROWS, ["Height", "Weight"])
    assert reasons[0] == ""
    assert reasons[1] == "Height 29.5 in outside [48, 96]"
    assert reasons[2] == "Height missing or non-numeric; Weight missing or non-numeric"
    assert reasons[3] == "Height 100 in outside [48, 96]; Weight 600 lb outside [80, 500]"
    assert out_of_range(ROWS, ["Height"], missing=False).tolist() == ["", "Height 29.5 in outside [48, 96]", "",
                                                                      "Height 100 in outside [48, 96]"]


def test_a_column_absent_from_the_frame_is_missing_in_every_row():
    assert out_of_range(ROWS, ["Ankle"]).tolist() == ["Ankle missing or non-numeric"] * 4
    assert contract_columns(ROWS) == ["Weight", "Height"]


def test_bounds_are_inclusive():
    edges = pd.DataFrame({name: [spec.low, spec.high] for name, spec in FEATURES_BY_NAME.items()})
    assert not violations(edges).any().any()


class Abdomen:
    def predict(self, X):
        return X["Abdomen"].to_numpy() / 10


def test_landing_validation_and_scoring_follow_a_changed_contract(monkeypatch, seed_frame):
    """One fact, one place: narrowing Ankle's range in the contract changes both callers, nothing else needed."""
    labeled = seed_frame.drop(columns=["Density"]).iloc[:20]
    rows = labeled.assign(row_id=range(1, 21))
    card = {"features": list(FEATURE_NAMES), "interval_half_width_90": 1.0}
    assert read_landed_file(TRAIN, "a.csv", labeled.to_csv(index=False).encode()) is not None
    assert score(Abdomen(), card, rows, "1")["issue"].isna().all(), "a scored row's issue is null, not ''"

    narrow = dataclasses.replace(FEATURES_BY_NAME["Ankle"], high=10)
    monkeypatch.setitem(FEATURES_BY_NAME, "Ankle", narrow)
    with pytest.raises(Reject, match=r"beyond_repair.*Ankle \(20\)"):
        read_landed_file(TRAIN, "a.csv", labeled.to_csv(index=False).encode())
    issues = score(Abdomen(), card, rows, "1")["issue"]
    assert issues.str.startswith("Ankle ").all() and issues.str.contains(r"outside \[15, 10\]").all()
