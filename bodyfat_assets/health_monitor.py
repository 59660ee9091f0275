"""The health monitor as a Dagster resource: drift thresholds, retrain-evidence policy, and the champion's training
rows as the reference every batch is compared with. Built from the configuration model's `health` group and lake."""

from __future__ import annotations

import pandas as pd
from dagster import ConfigurableResource

from bodyfat_assets.core.health.drift import DriftThresholds
from bodyfat_assets.core.health.evidence import EvidencePolicy
from bodyfat_assets.core.health.served_log import read_served_log
from bodyfat_assets.core.splits import latest_training_rows
from bodyfat_assets.group_config import HealthGroup, LakeGroup


class HealthMonitor(ConfigurableResource):
    lake: LakeGroup
    health: HealthGroup

    def thresholds(self) -> DriftThresholds:
        return self.health.build().drift_thresholds()

    def policy(self) -> EvidencePolicy:
        return self.health.build().evidence_policy()

    def served_log(self, days: list[str] | None = None) -> pd.DataFrame:
        """The serving API's prediction log in this lake, of `days` (None: every day)."""
        return read_served_log(self.lake.build().store, days)

    def reference_rows(self) -> pd.DataFrame | None:
        """The training rows of the latest split (the champion's, unless a challenger was refused since: close
        enough for drift, and the only copy the lake keeps). None before the first split exists."""
        return latest_training_rows(self.lake.build())
