import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES, RAW_COLUMNS

from bodyfat_assets.core.cleaning import APPLICABLE_RULES, RULES, clean, normalize_raw, siri_bodyfat

GOOD = {"Density": 1.0708, "BodyFat": 12.3, "Age": 23, "Weight": 154.25, "Height": 67.75, "Neck": 36.2,
        "Chest": 93.1, "Abdomen": 85.2, "Hip": 94.5, "Thigh": 59.0, "Knee": 37.3, "Ankle": 21.9, "Biceps": 32.0,
        "Forearm": 27.4, "Wrist": 17.1}


def frame(*overrides: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **o} for o in overrides])


def reasons_of(result, row_id: int) -> tuple[str, str]:
    row = result.quarantine.set_index("row_id").loc[row_id]
    return row["rules"], row["reasons"]


def test_siri_equation_matches_the_published_rows(seed_frame):
    # Rows not listed as anomalies agree with Siri within rounding.
    assert abs(siri_bodyfat(pd.Series([1.0708]))[0] - 12.3) < 0.1


def test_a_clean_row_passes_untouched():
    result = clean(frame({}))
    assert len(result.cleaned) == 1 and result.quarantine.empty
    assert result.cleaned.loc[0, "BodyFat"] == GOOD["BodyFat"]


def test_siri_mismatch_is_quarantined_with_both_values():
    result = clean(frame({}, {"BodyFat": 5.6, "Density": 1.0665}))
    rules, reasons = reasons_of(result, 2)
    assert rules == "siri_mismatch"
    assert "5.6" in reasons and "14.1" in reasons
    assert list(result.cleaned["row_id"]) == [1]


def test_missing_density_skips_the_siri_rule_only():
    result = clean(frame({"Density": np.nan, "BodyFat": 30.0}))
    assert result.quarantine.empty, "Density is optional: without it BodyFat cannot be cross-checked, not rejected"


def test_impossible_bodyfat_and_height():
    result = clean(frame({"BodyFat": 0.0, "Density": np.nan}, {"Height": 29.5}))
    assert "impossible" in reasons_of(result, 1)[0] and "BodyFat 0" in reasons_of(result, 1)[1]
    assert "impossible" in reasons_of(result, 2)[0] and "Height 29.5" in reasons_of(result, 2)[1]


@pytest.mark.parametrize("column", FEATURE_NAMES)
def test_each_predictor_out_of_range_is_named(column):
    result = clean(frame({column: 10_000.0}))
    rules, reasons = reasons_of(result, 1)
    assert "out_of_range" in rules and reasons.startswith(f"{column} 10000")


def test_non_numeric_and_missing_values_are_named():
    raw = frame({}, {}).astype(object)
    raw.loc[0, "Neck"] = "thirty"
    raw.loc[1, "Wrist"] = None
    result = clean(raw)
    assert "Neck" in reasons_of(result, 1)[1] and "missing" in reasons_of(result, 1)[0]
    assert "Wrist" in reasons_of(result, 2)[1]


def test_duplicates_keep_the_first_and_name_it():
    result = clean(frame({}, {"Age": 40}, {}))
    rules, reasons = reasons_of(result, 3)
    assert rules == "duplicate" and reasons == "duplicate of row 1"
    assert list(result.cleaned["row_id"]) == [1, 2]


def test_nothing_is_lost(seed_frame):
    result = clean(seed_frame)
    assert len(result.cleaned) + len(result.quarantine) == len(seed_frame)
    assert set(result.cleaned["row_id"]).isdisjoint(result.quarantine["row_id"])


def test_known_bad_rows_of_the_seed_dataset_are_caught(seed_frame):
    result = clean(seed_frame)
    rules = dict(zip(result.quarantine["row_id"], result.quarantine["rules"], strict=True))
    for row in (48, 76, 96):
        assert "siri_mismatch" in rules[row]
    assert "impossible" in rules[42] and "impossible" in rules[182] and "siri_mismatch" in rules[182]
    assert rules[31] == rules[86] == "out_of_range", "ankles of 33.9 and 33.7 cm at 182 and 167 lb are typos"
    reasons = dict(zip(result.quarantine["row_id"], result.quarantine["reasons"], strict=True))
    assert reasons[31] == "Ankle 33.9 cm outside [15, 31]"
    assert 39 not in rules, "the 363 lb subject is extreme but real (ankle 29.6 cm)"


def test_normalize_adds_row_ids_and_density_column():
    raw = frame({}).drop(columns=["Density"])
    out = normalize_raw(raw)
    assert list(out.columns) == ["row_id", *RAW_COLUMNS]
    assert out.loc[0, "row_id"] == 1 and np.isnan(out.loc[0, "Density"])


def test_every_row_of_a_file_with_suspect_labels_is_quarantined_for_review(seed_frame):
    from bodyfat_assets.core.landing.rows import raw_rows

    raw = pd.concat([raw_rows(seed_frame.iloc[:20], "seed"), raw_rows(seed_frame.iloc[20:30], "poison-1")])
    reason = "62% of BodyFat values outside the champion's 90 % interval: labels suspect"
    result = clean(raw, {"poison-1": reason})
    held = result.quarantine[result.quarantine["source"] == "poison-1"]
    assert len(held) == 10 and set(held["reasons"]) == {reason} and set(held["rules"]) == {"suspect_labels"}
    assert "poison-1" not in set(result.cleaned["source"])
    assert set(clean(raw).cleaned["source"]) == {"seed", "poison-1"}


def test_a_rule_applies_only_when_the_contract_declares_the_columns_it_reads():
    by_name = {rule.name: rule for rule in RULES}
    assert APPLICABLE_RULES == RULES, "the body-fat contract declares every column its rules read"
    diabetes = ["progression", "age", "sex", "bmi"]
    assert [r.name for r in RULES if r.applies(diabetes)] == ["missing", "out_of_range", "duplicate"]
    assert not by_name["impossible"].applies(["BodyFat", "Weight"]), "Height missing"
