"""The core behind tuned_model and champion, without Dagster or MLflow: train a challenger, decide a champion."""

import pytest
from bodyfat_contract import model_features

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.promotion import blocked_decision, decide_champion, density_finding, quality_gate
from bodyfat_assets.core.splits import stratified_split
from bodyfat_assets.core.training import train_challenger
from bodyfat_assets.core.tuning import TuningConfig


def test_a_challenger_is_measured_on_rows_tuning_never_saw(seed_frame):
    splits = stratified_split(clean(seed_frame).cleaned)
    trained = train_challenger(splits, model_features(), TuningConfig(n_trials=3, families=("ridge",), cv_folds=3))
    assert trained.tuning.best_family == "ridge" and trained.features == model_features()
    assert 3.0 < trained.metrics.rmse < 6.0, "a ridge on the tape measurements lands near 4.5"
    assert trained.half_width > 0 and 0.7 <= trained.coverage <= 1.0
    assert set(trained.figures) == {"predicted_vs_actual", "residuals", "study_history"}
    assert all(png.startswith(b"\x89PNG") for png in trained.figures.values())
    assert list(trained.best_by_family()["family"]) == ["ridge"]
    test_rows = splits[splits["split"] == "test"]
    assert not set(trained.training_example.index) & set(test_rows.index)
    population = trained.training_population  # over the training rows only: serving warns beyond its threshold
    assert population["features"] == model_features() and len(population["mean"]) == len(model_features())
    assert 5 < population["threshold"] < 15, "the farthest cleaned training row is ~8.7 from the rest"


SCORES = {"1": 4.6, "2": 4.4, "3": 4.59}
HOLDOUT = {"1": 4.3, "2": 4.3, "3": 4.3}
"""Trusted-holdout RMSEs that never stand in the way: every version is as good as any other there."""


def test_no_champion_promotes_the_challenger():
    decision = decide_champion("1", None, SCORES.__getitem__, HOLDOUT.__getitem__)
    assert decision.promoted and decision.moves_alias and decision.champion_version == "1"
    assert decision.champion_rmse is None and decision.reason == "no champion yet"


def test_a_better_challenger_moves_the_alias_and_a_worse_one_keeps_the_champion():
    better = decide_champion("2", "1", SCORES.__getitem__, HOLDOUT.__getitem__)
    assert better.outcome == "promoted" and better.moves_alias and better.champion_version == "2"
    assert better.challenger_rmse == pytest.approx(4.4) and better.champion_rmse == pytest.approx(4.6)
    worse = decide_champion("1", "2", SCORES.__getitem__, HOLDOUT.__getitem__)
    assert worse.outcome == "rejected" and not worse.moves_alias and worse.champion_version == "2"


def test_a_gain_inside_the_margin_is_not_enough():
    decision = decide_champion("3", "1", SCORES.__getitem__, HOLDOUT.__getitem__, margin=0.05)
    assert not decision.promoted and decision.champion_version == "1" and "0.05" in decision.reason


def test_the_current_champion_is_scored_once_and_stays():
    calls = []
    decision = decide_champion("2", "2", lambda v: calls.append(v) or SCORES[v], HOLDOUT.__getitem__)
    assert calls == ["2"] and decision.promoted and not decision.moves_alias


def test_a_challenger_that_wins_on_the_test_split_but_loses_on_the_trusted_holdout_is_rejected():
    """Poisoned labels in the test split make a poisoned challenger look better there."""
    poisoned = {"1": 6.48, "9": 6.10}
    holdout = {"1": 4.19, "9": 4.80}
    decision = decide_champion("9", "1", poisoned.__getitem__, holdout.__getitem__)
    assert decision.outcome == "rejected" and not decision.moves_alias and decision.champion_version == "1"
    assert "beats champion 6.480" in decision.reason and "trusted holdout" in decision.reason
    assert "worse than champion 4.190 by 0.610 > 0" in decision.reason
    assert (decision.challenger_holdout_rmse, decision.champion_holdout_rmse) == (4.80, 4.19)
    by_comparison = {row["on"]: row for row in decision.comparisons()}
    assert by_comparison["test split"]["gain"] == pytest.approx(0.38)
    assert by_comparison["trusted holdout"]["gain"] == pytest.approx(-0.61)
    assert by_comparison["trusted holdout"]["champion_version"] == "1"


def test_a_holdout_loss_within_the_margin_does_not_stop_a_real_gain():
    decision = decide_champion("2", "1", {"1": 4.6, "2": 4.3}.__getitem__, {"1": 4.20, "2": 4.24}.__getitem__,
                               margin=0.05)
    assert decision.outcome == "promoted" and decision.moves_alias and "by 0.040, within the margin 0.05" in \
        decision.reason


def test_a_challenger_better_on_the_holdout_is_not_said_to_be_within_0_of_the_champion():
    decision = decide_champion("2", "1", {"1": 4.6, "2": 4.3}.__getitem__, {"1": 4.20, "2": 4.10}.__getitem__)
    assert decision.outcome == "promoted" and "within 0 " not in decision.reason
    assert "challenger RMSE 4.100 is no worse than champion 4.200" in decision.reason


def test_the_first_champion_is_scored_on_the_holdout_too():
    decision = decide_champion("1", None, SCORES.__getitem__, {"1": 4.25}.__getitem__)
    assert decision.promoted and decision.challenger_holdout_rmse == 4.25 and decision.champion_holdout_rmse is None


def test_a_scoring_error_propagates_instead_of_deciding():
    def broken(version: str) -> float:
        raise ConnectionError("registry unreachable")
    with pytest.raises(ConnectionError):
        decide_champion("2", "1", broken, HOLDOUT.__getitem__)


def test_the_quality_gate_names_what_failed_with_its_figures(seed_frame):
    splits = stratified_split(clean(seed_frame).cleaned)
    findings = quality_gate(model_features(), 5.5, splits, allow_density=False, rmse_ceiling=5.0,
                            baseline_tolerance=0.1)
    by_check = {f.check: f for f in findings}
    assert by_check["density_not_a_feature"].passed
    assert not by_check["rmse_below_ceiling"].passed and "5.500 > ceiling 5" in by_check["rmse_below_ceiling"].detail
    baseline = by_check["beats_ridge_baseline"]
    assert not baseline.passed and baseline.figures["limit"] == pytest.approx(
        baseline.figures["ridge_baseline_rmse"] * 1.1)
    decision = blocked_decision("7", "3", findings)
    assert decision.outcome == "blocked" and decision.champion_version == "3" and not decision.moves_alias
    assert "rmse_below_ceiling" in decision.reason and "beats_ridge_baseline" in decision.reason
    assert "density_not_a_feature" not in decision.reason and decision.challenger_rmse == 5.5


def test_a_model_that_passes_the_gate_is_not_blocked(seed_frame):
    splits = stratified_split(clean(seed_frame).cleaned)
    findings = quality_gate(model_features(), 4.0, splits, allow_density=False, rmse_ceiling=6.0,
                            baseline_tolerance=0.1)
    assert all(f.passed for f in findings) and blocked_decision("7", "3", findings) is None
    with_density = quality_gate([*model_features(), "Density"], 4.0, splits, allow_density=False, rmse_ceiling=6.0,
                                baseline_tolerance=10)
    assert not next(f for f in with_density if f.check == "density_not_a_feature").passed


def test_a_contract_without_density_has_nothing_for_the_density_gate_to_block():
    assert not density_finding(["Age", "Density"], False, ("Density",)).passed
    finding = density_finding(["age", "bmi"], False, ())
    assert finding.passed and finding.detail == "the contract declares no density column"
