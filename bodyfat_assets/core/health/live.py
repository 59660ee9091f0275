"""Live error: how the champion of the moment does on newly labeled rows, before they join training."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LivePerformance:
    rows: int
    rmse: float
    mae: float
    bias: float
    """Mean of actual − predicted: positive when the model under-predicts."""
    coverage: float
    """Share of rows whose actual value lies inside the model's 90 % interval."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def live_performance(actual: np.ndarray, predicted: np.ndarray, half_width: float) -> LivePerformance:
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    scored = np.isfinite(actual) & np.isfinite(predicted)
    errors = actual[scored] - predicted[scored]
    if len(errors) == 0:
        nan = float("nan")
        return LivePerformance(0, nan, nan, nan, nan)
    return LivePerformance(
        rows=len(errors),
        rmse=float(np.sqrt(np.mean(errors**2))),
        mae=float(np.mean(np.abs(errors))),
        bias=float(np.mean(errors)),
        coverage=float(np.mean(np.abs(errors) <= half_width)),
    )
