"""Test-split metrics, a split-conformal 90 % interval, and the figures shown in the Dagster UI and MLflow."""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass

import matplotlib

matplotlib.use("Agg")  # headless: figures are rendered to PNG bytes, never shown

import matplotlib.pyplot as plt
import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class Metrics:
    rmse: float
    mae: float
    r2: float

    def as_dict(self, prefix: str = "test_") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def regression_metrics(y_true: pd.Series | np.ndarray, y_pred: np.ndarray) -> Metrics:
    return Metrics(
        rmse=float(root_mean_squared_error(y_true, y_pred)),
        mae=float(mean_absolute_error(y_true, y_pred)),
        r2=float(r2_score(y_true, y_pred)),
    )


def conformal_half_width(residuals: np.ndarray, coverage: float = 0.9) -> float:
    """Split-conformal quantile: the ceil((n+1)·coverage)-th smallest absolute residual."""
    scores = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    n = len(scores)
    rank = math.ceil((n + 1) * coverage)
    if n == 0 or rank > n:
        raise ValueError(f"{n} residuals are too few for a {coverage:.0%} conformal interval")
    return float(scores[rank - 1])


def cross_validated_residuals(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, folds: int = 5,
                              seed: int = 42) -> np.ndarray:
    """Residuals of out-of-fold predictions: each row is predicted by a model that never saw it."""
    predicted = cross_val_predict(clone(pipeline), X, y, cv=KFold(folds, shuffle=True, random_state=seed))
    return np.asarray(y) - predicted


def interval_coverage(y_true: pd.Series | np.ndarray, y_pred: np.ndarray, half_width: float) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - y_pred) <= half_width))


def png_bytes(fig: plt.Figure) -> bytes:
    """A figure as PNG bytes (closed afterwards): what the Dagster UI and MLflow show."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def predicted_vs_actual_png(y_true: np.ndarray, y_pred: np.ndarray, half_width: float | None = None) -> bytes:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.scatter(y_true, y_pred, s=14, alpha=0.7)
    lo, hi = float(min(np.min(y_true), np.min(y_pred))), float(max(np.max(y_true), np.max(y_pred)))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="ideal")
    if half_width is not None:
        ax.fill_between([lo, hi], [lo - half_width, hi - half_width], [lo + half_width, hi + half_width],
                        alpha=0.12, label="90 % interval")
    ax.set(xlabel="actual body fat (%)", ylabel="predicted body fat (%)", title="Test split: predicted vs actual")
    ax.legend(loc="upper left")
    return png_bytes(fig)


def residuals_png(y_true: np.ndarray, y_pred: np.ndarray) -> bytes:
    residuals = np.asarray(y_true) - y_pred
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.5))
    left.scatter(y_pred, residuals, s=14, alpha=0.7)
    left.axhline(0, color="k", lw=1)
    left.set(xlabel="predicted body fat (%)", ylabel="residual (actual − predicted)", title="Residuals")
    right.hist(residuals, bins=20)
    right.set(xlabel="residual", title="Residual distribution")
    return png_bytes(fig)


def study_history_png(study: optuna.Study) -> bytes:
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for family in sorted({t.params["family"] for t in trials}):
        points = [(t.number, t.value) for t in trials if t.params["family"] == family]
        ax.scatter(*zip(*points, strict=True), s=16, label=family)
    if trials:
        numbers = [t.number for t in trials]
        ax.step(numbers, np.minimum.accumulate([t.value for t in trials]), where="post", color="k", label="best")
    ax.set(xlabel="trial", ylabel="CV RMSE", title="Optuna study history")
    ax.legend(fontsize=7, ncol=2)
    return png_bytes(fig)


def ridge_baseline_rmse(train: pd.DataFrame, test: pd.DataFrame, features: list[str], target: str) -> float:
    """The bar every tuned model must clear: a default ridge on the same split and features."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    baseline = Pipeline([("scale", StandardScaler()), ("model", Ridge(alpha=1.0))]).fit(train[features], train[target])
    return float(root_mean_squared_error(test[target], baseline.predict(test[features])))
