"""The health monitor as a Dagster resource: drift thresholds, retrain-evidence policy, and the champion's training
rows as the reference every batch is compared with. Built from the configuration model's `health` group."""

from __future__ import annotations

import pandas as pd
from dagster import ConfigurableResource

from bodyfat_assets.core.health.drift import DriftThresholds
from bodyfat_assets.core.health.evidence import EvidencePolicy
from bodyfat_assets.core.health.served_log import read_served_log
from bodyfat_assets.lake import read_training_rows, store_from_url
from bodyfat_assets.settings import HealthSettings


class HealthMonitor(ConfigurableResource):
    lake_url: str
    s3_endpoint_url: str | None = None
    health: dict[str, float]
    """settings.HealthSettings as plain values (a resource's config must be plain data)."""

    @classmethod
    def from_settings(cls, lake_url: str, s3_endpoint_url: str | None, health: HealthSettings) -> HealthMonitor:
        return cls(lake_url=lake_url, s3_endpoint_url=s3_endpoint_url, health=health.model_dump())

    def _settings(self) -> HealthSettings:
        return HealthSettings.model_validate(self.health)

    def thresholds(self) -> DriftThresholds:
        return self._settings().drift_thresholds()

    def policy(self) -> EvidencePolicy:
        return self._settings().evidence_policy()

    def served_min_labels(self) -> int:
        return self._settings().served_min_labels

    def served_log(self, days: list[str] | None = None) -> pd.DataFrame:
        """The serving API's prediction log in this lake, of `days` (None: every day)."""
        return read_served_log(store_from_url(self.lake_url, self.s3_endpoint_url), days)

    def reference_rows(self) -> pd.DataFrame | None:
        """The training rows of the latest split (the champion's, unless a challenger was refused since: close
        enough for drift, and the only copy the lake keeps). None before the first split exists."""
        return read_training_rows(store_from_url(self.lake_url, self.s3_endpoint_url))
