"""Drift of one batch against the champion's training rows, per column: Kolmogorov–Smirnov and the population
stability index (PSI) on training-quantile bins. scipy only: Evidently or alibi-detect would pull hundreds of MB or
pin numpy < 2 (STACK.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PSI_BINS = 10
PSI_PSEUDOCOUNT = 0.5
"""Added to every bin's count so PSI stays finite. The common floor of 1e-4 instead made one empty bin of a 50-row
file worth +0.7 PSI, and unshifted files alarmed on it (bench/drift.py)."""


@dataclass(frozen=True)
class DriftThresholds:
    """Defaults and meanings live in the configuration model (settings.HealthSettings)."""

    psi: float
    """PSI at or above this, and above what sampling noise alone reaches 99 times in 100, marks a column drifted
    (0.1–0.2 is the usual 'moderate', ≥ 0.2 'significant'). Without the noise bound, 50-row files drawn from the
    very rows the model trained on alarmed 20 times in 20 (bench/drift.py); with it and a pseudocount, 2 in 100
    (0.15 % of feature tests)."""
    p_value: float
    ks: float
    """A KS p-value below `p_value` marks drift only together with a KS statistic of at least `ks`: with thousands
    of rows a negligible shift is 'significant'."""
    min_drifted: int
    """Features that must drift at once for the drift to count as evidence for a retrain."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    ks: float
    p_value: float
    psi: float
    psi_noise: float
    """The PSI that sampling noise alone exceeds 1 time in 100 at these sample sizes."""
    outside_training_range: int
    """Rows below the training minimum or above its maximum."""
    drifted: bool

    @property
    def verdict(self) -> str:
        return "drift" if self.drifted else "ok"


def population_stability_index(reference: np.ndarray, current: np.ndarray, bins: int = PSI_BINS) -> float:
    """PSI = Σ (c − r)·ln(c / r) over bins cut at the reference's quantiles (so each holds ~1/bins of it)."""
    return _psi(_finite(reference), _finite(current), bins)[0]


def _psi(reference: np.ndarray, current: np.ndarray, bins: int) -> tuple[float, float]:
    """(PSI, its 99th percentile without drift). Tied measurements (0.1 cm steps) can merge quantile edges, so the
    noise term counts the bins that remain."""
    if len(reference) == 0 or len(current) == 0:
        return float("nan"), float("nan")
    inner_edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = _shares(reference, inner_edges)
    cur_share = _shares(current, inner_edges)
    psi = float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))
    from scipy.stats import chi2  # here, not at the top: settings imports DriftThresholds, and scipy.stats costs 1.8 s

    # PSI is the symmetric chi-square divergence: n·m/(n+m) · PSI ≈ χ² with (bins − 1) degrees of freedom.
    return psi, float(chi2.ppf(0.99, max(len(inner_edges), 1)) * (1 / len(current) + 1 / len(reference)))


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _shares(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(inner_edges, values, side="right"), minlength=len(inner_edges) + 1)
    return (counts + PSI_PSEUDOCOUNT) / (len(values) + PSI_PSEUDOCOUNT * len(counts))


def column_drift(column: str, reference: np.ndarray, current: np.ndarray,
                 thresholds: DriftThresholds) -> ColumnDrift:
    reference, current = _finite(reference), _finite(current)
    if len(reference) == 0 or len(current) == 0:
        nan = float("nan")
        return ColumnDrift(column, nan, nan, nan, nan, 0, False)
    from scipy.stats import ks_2samp  # see chi2 above

    test = ks_2samp(reference, current)
    psi, noise = _psi(reference, current, PSI_BINS)
    outside = int(((current < reference.min()) | (current > reference.max())).sum())
    drifted = psi >= max(thresholds.psi, noise) or (
        test.pvalue < thresholds.p_value and test.statistic >= thresholds.ks)
    return ColumnDrift(column, float(test.statistic), float(test.pvalue), psi, noise, outside, bool(drifted))


def batch_drift(reference: pd.DataFrame, batch: pd.DataFrame, columns: Sequence[str],
                thresholds: DriftThresholds) -> list[ColumnDrift]:
    """One ColumnDrift per column present in both frames, in `columns` order."""
    return [column_drift(c, reference[c].to_numpy(), pd.to_numeric(batch[c], errors="coerce").to_numpy(), thresholds)
            for c in columns if c in reference.columns and c in batch.columns]


def drift_table(drifts: Sequence[ColumnDrift]) -> pd.DataFrame:
    return pd.DataFrame([{"feature": d.column, "ks": d.ks, "p_value": d.p_value, "psi": d.psi,
                          "psi_noise": d.psi_noise, "outside_training_range": d.outside_training_range,
                          "verdict": d.verdict}
                         for d in drifts])
