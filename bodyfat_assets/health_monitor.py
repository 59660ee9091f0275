"""The health monitor as a Dagster resource: drift thresholds, retrain-evidence policy, and the champion's training
rows as the reference every batch is compared with."""

from __future__ import annotations

import pandas as pd
from dagster import ConfigurableResource

from bodyfat_assets.core.health.drift import DriftThresholds
from bodyfat_assets.core.health.evidence import EvidencePolicy
from bodyfat_assets.lake import read_training_rows, store_from_url


class HealthMonitor(ConfigurableResource):
    lake_url: str
    s3_endpoint_url: str | None = None
    drift_psi: float = DriftThresholds.psi
    drift_p_value: float = DriftThresholds.p_value
    drift_ks: float = DriftThresholds.ks
    drift_min_features: int = DriftThresholds.min_drifted
    live_rmse_ratio: float = EvidencePolicy.rmse_ratio
    live_coverage_floor: float = EvidencePolicy.coverage_floor
    suspect_outside_share: float = EvidencePolicy.suspect_outside_share

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(psi=self.drift_psi, p_value=self.drift_p_value, ks=self.drift_ks,
                               min_drifted=self.drift_min_features)

    def policy(self) -> EvidencePolicy:
        return EvidencePolicy(rmse_ratio=self.live_rmse_ratio, coverage_floor=self.live_coverage_floor,
                              min_drifted_features=self.drift_min_features,
                              suspect_outside_share=self.suspect_outside_share)

    def reference_rows(self) -> pd.DataFrame | None:
        """The training rows of the latest split (the champion's, unless a challenger was refused since: close
        enough for drift, and the only copy the lake keeps). None before the first split exists."""
        return read_training_rows(store_from_url(self.lake_url, self.s3_endpoint_url))
