"""The figures shown in the Dagster UI and MLflow, as PNG bytes.

Apart from `evaluation.py` so that only what draws imports matplotlib and optuna (1.4 s of CPU together): every
Dagster run worker imports the definitions, and an ingestion run draws nothing.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # headless: figures are rendered to PNG bytes, never shown

import matplotlib.pyplot as plt
import numpy as np
import optuna


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
