"""What a labeled file says about the champion: evidence for a retrain, or labels too suspect to train on.

The two must agree (issues 9 and 15). Features that drift, or an error that grew while the labels still follow the
model's predictions, mean the world moved: retrain. An error that grew while the features did not drift *and* the
labels no longer follow the predictions (random or shuffled BodyFat: correlation near 0) means the labels are
suspect: quarantine the file for review, never train on it. A systematic shift (every BodyFat + 8) keeps the
correlation, so it counts as a changed world, not as poison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bodyfat_assets.core.health.live import LivePerformance


@dataclass(frozen=True)
class EvidencePolicy:
    """The configurable figures' defaults and meanings live in the configuration model (settings.HealthSettings)."""

    rmse_ratio: float
    """Live RMSE above champion test RMSE × this is evidence."""
    coverage_floor: float
    """Live 90 % interval coverage below this is evidence, on at least `coverage_min_rows` rows."""
    min_drifted_features: int
    """This many drifted features are evidence on their own."""
    suspect_outside_share: float
    """Share of rows outside the champion's 90 % interval (10 % expected) above which labels may be suspect."""
    coverage_min_rows: int = 30
    suspect_max_correlation: float = 0.3
    """...and they are, when actual and predicted correlate less than this (honest seed rows: about 0.83, the
    square root of the models' R² ≈ 0.69)."""


def retrain_evidence(live: LivePerformance | None, champion_test_rmse: float | None,
                     drifted_features: Sequence[str], policy: EvidencePolicy) -> list[str]:
    """Human-readable reasons to retrain now (empty: none)."""
    reasons = []
    if live is not None and live.rows and champion_test_rmse:
        if live.rmse > champion_test_rmse * policy.rmse_ratio:
            reasons.append(f"live RMSE {live.rmse:.2f} > {policy.rmse_ratio:g} × champion test RMSE "
                           f"{champion_test_rmse:.2f} on {live.rows} rows")
        if live.rows >= policy.coverage_min_rows and live.coverage < policy.coverage_floor:
            reasons.append(f"live 90 % interval coverage {live.coverage:.2f} < {policy.coverage_floor:g} "
                           f"on {live.rows} rows")
    if len(drifted_features) >= policy.min_drifted_features:
        reasons.append(f"{len(drifted_features)} features drifted: {', '.join(drifted_features)}")
    return reasons


def label_check(actual: np.ndarray, predicted: np.ndarray, half_width: float, drifted_features: Sequence[str],
                policy: EvidencePolicy) -> tuple[float, float, str | None]:
    """(share outside the interval, correlation of actual with predicted, why the labels are suspect or None)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    scored = np.isfinite(actual) & np.isfinite(predicted)
    actual, predicted = actual[scored], predicted[scored]
    if len(actual) < 3:
        return float("nan"), float("nan"), None
    outside = float(np.mean(np.abs(actual - predicted) > half_width))
    correlation = float(np.corrcoef(actual, predicted)[0, 1]) if np.std(actual) > 0 else 0.0
    suspect = (outside > policy.suspect_outside_share and not drifted_features
               and correlation < policy.suspect_max_correlation)
    reason = (f"{outside:.0%} of BodyFat values outside the champion's 90 % interval (10 % expected), features "
              f"not drifted, correlation with predictions {correlation:.2f}: labels suspect") if suspect else None
    return outside, correlation, reason
