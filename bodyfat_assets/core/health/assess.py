"""One function per kind of batch: what the platform learns about the champion from a labeled file, and how far a
scoring file is from the rows the champion was trained on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, TARGET

from bodyfat_assets.core.contract_checks import violations
from bodyfat_assets.core.health.drift import ColumnDrift, DriftThresholds, batch_drift
from bodyfat_assets.core.health.evidence import EvidencePolicy, label_check, retrain_evidence
from bodyfat_assets.core.health.live import LivePerformance, live_performance


@dataclass(frozen=True)
class LabeledFileHealth:
    model_version: str | None
    """The champion that scored the file (None: there was none yet, nothing was measured)."""
    champion_test_rmse: float | None
    live: LivePerformance | None
    drift: list[ColumnDrift] = field(default_factory=list)
    outside_interval_share: float = float("nan")
    correlation: float = float("nan")
    suspect_labels: str | None = None
    evidence: list[str] = field(default_factory=list)

    @property
    def drifted_features(self) -> list[str]:
        return [d.column for d in self.drift if d.drifted and d.column != TARGET.name]

    def as_row(self, source: str) -> dict[str, Any]:
        """One row of the live_performance table (the asset's output, model_health's input)."""
        live = self.live.as_dict() if self.live else {"rows": 0, "rmse": np.nan, "mae": np.nan, "bias": np.nan,
                                                       "coverage": np.nan}
        return {"source": source, "model_version": self.model_version or "none",
                "champion_test_rmse": np.nan if self.champion_test_rmse is None else self.champion_test_rmse,
                **live, "outside_interval_share": self.outside_interval_share, "correlation": self.correlation,
                "drifted_features": ",".join(self.drifted_features),
                "target_drifted": any(d.drifted for d in self.drift if d.column == TARGET.name),
                "suspect_labels": self.suspect_labels or "", "evidence": "; ".join(self.evidence)}


def scorable(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows whose 13 features and target are present and inside the contract's ranges."""
    return rows[~violations(rows, [*FEATURE_NAMES, TARGET.name]).any(axis=1)]


def assess_labeled_file(rows: pd.DataFrame, model: Any | None, card: dict[str, Any] | None,
                        model_version: str | None, reference: pd.DataFrame | None,
                        thresholds: DriftThresholds,
                        policy: EvidencePolicy) -> LabeledFileHealth:
    """Score a labeled file with the champion of the moment, before it joins training, and weigh what it says."""
    if model is None or card is None:
        return LabeledFileHealth(None, None, None)
    valid = scorable(rows)
    predicted = model.predict(valid[list(card["features"])]) if len(valid) else np.array([])
    half_width = float(card["interval_half_width_90"])
    actual = valid[TARGET.name].to_numpy(dtype=float)
    live = live_performance(actual, predicted, half_width)
    drift = batch_drift(reference, valid, [*FEATURE_NAMES, TARGET.name], thresholds) if reference is not None else []
    drifted = [d.column for d in drift if d.drifted and d.column != TARGET.name]
    outside, correlation, suspect = label_check(actual, predicted, half_width, drifted, policy)
    test_rmse = float(card["test_rmse"]) if card.get("test_rmse") is not None else None
    # Suspect labels are never evidence for a retrain: they go to review instead.
    evidence = [] if suspect else retrain_evidence(live, test_rmse, drifted, policy)
    return LabeledFileHealth(model_version, test_rmse, live, drift, outside, correlation, suspect, evidence)


def assess_scoring_batch(rows: pd.DataFrame, reference: pd.DataFrame | None,
                         thresholds: DriftThresholds) -> list[ColumnDrift]:
    """Drift of a scoring file's features against the champion's training rows ([] before there are any)."""
    return batch_drift(reference, rows, FEATURE_NAMES, thresholds) if reference is not None else []


def drifted(drifts: Sequence[ColumnDrift]) -> list[str]:
    return [d.column for d in drifts if d.drifted]
