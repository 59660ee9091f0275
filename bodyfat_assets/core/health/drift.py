"""Drift of one batch against the champion's training rows, per column: Kolmogorov–Smirnov and the population
stability index (PSI) on training-quantile bins. scipy only: Evidently or alibi-detect would pull hundreds of MB or
pin numpy < 2 (STACK.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

PSI_BINS = 10
PSI_FLOOR = 1e-4
"""Share given to an empty bin so PSI stays finite (the usual convention; it caps one empty bin's term near 0.9)."""


@dataclass(frozen=True)
class DriftThresholds:
    psi: float = 0.2
    """PSI at or above this marks a column drifted (0.1–0.2 is the usual 'moderate', ≥ 0.2 'significant')."""
    p_value: float = 0.01
    ks: float = 0.1
    """A KS p-value below `p_value` marks drift only together with a KS statistic of at least `ks`: with thousands
    of rows a negligible shift is 'significant'."""
    min_drifted: int = 3
    """Features that must drift at once for the drift to count as evidence for a retrain."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    ks: float
    p_value: float
    psi: float
    outside_training_range: int
    """Rows below the training minimum or above its maximum."""
    drifted: bool

    @property
    def verdict(self) -> str:
        return "drift" if self.drifted else "ok"


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """PSI = Σ (c − r)·ln(c / r) over bins cut at the reference's quantiles (so each holds ~1/bins of it)."""
    reference, current = _finite(reference), _finite(current)
    if len(reference) == 0 or len(current) == 0:
        return float("nan")
    inner_edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = _shares(reference, inner_edges)
    cur_share = _shares(current, inner_edges)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _shares(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(inner_edges, values, side="right"), minlength=len(inner_edges) + 1)
    return np.maximum(counts / len(values), PSI_FLOOR)


def column_drift(column: str, reference: np.ndarray, current: np.ndarray,
                 thresholds: DriftThresholds = DriftThresholds()) -> ColumnDrift:
    reference, current = _finite(reference), _finite(current)
    if len(reference) == 0 or len(current) == 0:
        return ColumnDrift(column, float("nan"), float("nan"), float("nan"), 0, False)
    test = ks_2samp(reference, current)
    psi = population_stability_index(reference, current)
    outside = int(((current < reference.min()) | (current > reference.max())).sum())
    drifted = psi >= thresholds.psi or (test.pvalue < thresholds.p_value and test.statistic >= thresholds.ks)
    return ColumnDrift(column, float(test.statistic), float(test.pvalue), psi, outside, bool(drifted))


def batch_drift(reference: pd.DataFrame, batch: pd.DataFrame, columns: Sequence[str],
                thresholds: DriftThresholds = DriftThresholds()) -> list[ColumnDrift]:
    """One ColumnDrift per column present in both frames, in `columns` order."""
    return [column_drift(c, reference[c].to_numpy(), pd.to_numeric(batch[c], errors="coerce").to_numpy(), thresholds)
            for c in columns if c in reference.columns and c in batch.columns]


def drift_table(drifts: Sequence[ColumnDrift]) -> pd.DataFrame:
    return pd.DataFrame([{"feature": d.column, "ks": d.ks, "p_value": d.p_value, "psi": d.psi,
                          "outside_training_range": d.outside_training_range, "verdict": d.verdict}
                         for d in drifts])
