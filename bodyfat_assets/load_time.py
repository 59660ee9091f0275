"""What shapes the definitions themselves rather than a run: how often the sensors look and whether they start
RUNNING, and the freshness windows the Dagster UI checks. Built from the `Settings` that `build_definitions` is
given, never from the environment here: a test's settings reach the sensors and policies as they reach resources."""

from datetime import timedelta
from typing import Any

from dagster import AssetKey, AssetSpec, DefaultSensorStatus, FreshnessPolicy

from bodyfat_assets.asset_keys import BATCH_PREDICTIONS, CHAMPION
from bodyfat_assets.settings import HealthSettings, LandingSettings


def sensor_cadence(landing: LandingSettings) -> dict[str, Any]:
    """The keyword arguments every sensor takes: how often it looks, and whether it starts RUNNING."""
    status = DefaultSensorStatus.RUNNING if landing.sensors_running else DefaultSensorStatus.STOPPED
    return {"minimum_interval_seconds": landing.sensor_interval_s, "default_status": status}


def freshness_policies(health: HealthSettings) -> dict[AssetKey, FreshnessPolicy]:
    return {CHAMPION: FreshnessPolicy.time_window(fail_window=timedelta(hours=health.champion_fresh_hours)),
            BATCH_PREDICTIONS: FreshnessPolicy.time_window(fail_window=timedelta(hours=health.predictions_fresh_hours))}


def with_freshness(health: HealthSettings):  # noqa: ANN201 - a function Definitions.map_asset_specs calls
    policies = freshness_policies(health)

    def apply(spec: AssetSpec) -> AssetSpec:
        policy = policies.get(spec.key)
        return spec.replace_attributes(freshness_policy=policy) if policy else spec
    return apply
