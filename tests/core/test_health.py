"""Drift statistics and live error on constructed samples with known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from bodyfat_assets.core.health.drift import (
    batch_drift,
    column_drift,
    drift_table,
    population_stability_index,
)
from bodyfat_assets.core.health.evidence import label_check, retrain_evidence
from bodyfat_assets.core.health.live import live_performance
from bodyfat_assets.settings import HealthSettings

RNG = np.random.default_rng(0)
HEALTH = HealthSettings()  # the configuration model's defaults
THRESHOLDS, POLICY = HEALTH.drift_thresholds(), HEALTH.evidence_policy()


def training_like(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"Abdomen": rng.normal(92, 10, n), "Neck": rng.normal(38, 2.4, n),
                         "Wrist": rng.normal(18.2, 0.9, n)})


def test_the_same_distribution_does_not_drift():
    reference, batch = training_like(2000, RNG), training_like(500, np.random.default_rng(1))
    drifts = batch_drift(reference, batch, ["Abdomen", "Neck", "Wrist"], THRESHOLDS)
    assert [d.verdict for d in drifts] == ["ok", "ok", "ok"]
    assert all(d.psi < 0.05 for d in drifts)


def test_a_one_sd_shift_in_one_feature_drifts_that_feature_only():
    reference, batch = training_like(2000, RNG), training_like(500, np.random.default_rng(2))
    batch["Neck"] += 2.4
    drifts = {d.column: d for d in batch_drift(reference, batch, ["Abdomen", "Neck", "Wrist"], THRESHOLDS)}
    assert drifts["Neck"].drifted and drifts["Neck"].psi > 0.2 and drifts["Neck"].ks > 0.3
    assert not drifts["Abdomen"].drifted and not drifts["Wrist"].drifted


def test_psi_matches_a_hand_computed_value():
    reference = np.arange(100, dtype=float)  # quartile edges at 24.75, 49.5, 74.25: 25 rows each
    current = np.array([10.0] * 40 + [30.0] * 30 + [60.0] * 20 + [90.0] * 10)
    # Shares carry a pseudocount of 0.5 per bin: (count + 0.5) / (n + 0.5 · bins); the reference's are 25.5/102.
    shares = [(count + 0.5) / 102 for count in (40, 30, 20, 10)]
    expected = sum((c - 0.25) * math.log(c / 0.25) for c in shares)
    assert population_stability_index(reference, current, bins=4) == pytest.approx(expected)
    assert population_stability_index(reference, reference, bins=4) == pytest.approx(0.0)


def test_rows_outside_the_training_range_are_counted_and_missing_values_ignored():
    reference = np.linspace(20, 30, 200)
    current = np.array([19.0, 25.0, 31.0, 32.0, np.nan])
    drift = column_drift("Ankle", reference, current, THRESHOLDS)
    assert drift.outside_training_range == 3


def test_a_small_significant_shift_needs_a_large_enough_ks_to_count():
    reference = np.random.default_rng(3).normal(0, 1, 20000)
    current = np.random.default_rng(4).normal(0.06, 1, 20000)  # p tiny at this n, KS ~0.03
    drift = column_drift("x", reference, current, THRESHOLDS)
    assert drift.p_value < 0.01 and drift.ks < 0.1 and not drift.drifted


def test_the_drift_table_has_one_row_per_feature_with_a_verdict():
    reference, batch = training_like(300, RNG), training_like(100, np.random.default_rng(5))
    table = drift_table(batch_drift(reference, batch, ["Abdomen", "Neck"], THRESHOLDS))
    assert list(table.columns) == ["feature", "ks", "p_value", "psi", "psi_noise", "outside_training_range",
                                   "verdict"]
    assert list(table["feature"]) == ["Abdomen", "Neck"]


def test_live_performance_on_known_errors():
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    predicted = np.array([12.0, 18.0, 30.0, 30.0])
    live = live_performance(actual, predicted, half_width=3.0)
    assert live.rows == 4 and live.bias == pytest.approx((-2 + 2 + 0 + 10) / 4)
    assert live.rmse == pytest.approx(math.sqrt((4 + 4 + 0 + 100) / 4)) and live.mae == pytest.approx(3.5)
    assert live.coverage == pytest.approx(0.75)
    assert live_performance(np.array([np.nan]), np.array([1.0]), 3.0).rows == 0


def test_retrain_evidence_names_each_reason():
    degraded = live_performance(np.array([20.0] * 40), np.array([12.0] * 40), half_width=7.0)
    reasons = retrain_evidence(degraded, champion_test_rmse=4.5, drifted_features=[], policy=POLICY)
    assert len(reasons) == 2 and "live RMSE 8.00 > 1.25" in reasons[0] and "coverage 0.00" in reasons[1]
    healthy = live_performance(np.array([20.0] * 40), np.array([19.0] * 40), half_width=7.0)
    assert retrain_evidence(healthy, 4.5, ["Neck", "Wrist"], POLICY) == []
    assert "3 features drifted" in retrain_evidence(healthy, 4.5, ["Neck", "Wrist", "Hip"], POLICY)[0]
    few = live_performance(np.array([20.0] * 10), np.array([19.0] * 10), half_width=0.5)
    assert retrain_evidence(few, 4.5, [], POLICY) == [], "coverage needs 30 rows to count"


def test_shuffled_labels_are_suspect_a_systematic_shift_is_not():
    rng = np.random.default_rng(6)
    truth = rng.normal(19, 8, 400)
    predicted = truth + rng.normal(0, 4.4, 400)
    honest = label_check(truth, predicted, 7.5, [], POLICY)
    assert honest[0] < 0.2 and honest[2] is None
    shuffled = label_check(rng.permutation(truth), predicted, 7.5, [], POLICY)
    assert shuffled[0] > 0.4 and shuffled[1] < 0.3 and "labels suspect" in shuffled[2]
    shifted = label_check(truth + 8, predicted, 7.5, [], POLICY)
    assert shifted[0] > 0.4 and shifted[1] > 0.5 and shifted[2] is None
    assert label_check(rng.permutation(truth), predicted, 7.5, ["Abdomen"], POLICY)[2] is None, "drift: a changed world"
