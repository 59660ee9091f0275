"""`bodyfat health` (`make health`): the model's health, read from the Dagster instance, the lake and the registry."""

from __future__ import annotations

import time

from dagster import AssetKey, DagsterInstance, RunsFilter

from bodyfat_assets.core.health.report import health_text
from bodyfat_assets.defs.jobs import PIPELINE_JOB
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.settings import Settings
from bodyfat_assets.tracking import CHAMPION, Tracker, TrackingConfig

HEALTH_KEY = "model_health.parquet"


def _hours_since(timestamp: float) -> float:
    return (time.time() - timestamp) / 3600


def gather(settings: Settings, instance: DagsterInstance) -> str:
    tracker = Tracker(TrackingConfig(settings.mlflow_tracking_uri, settings.experiment_name, settings.model_name,
                                     settings.mlflow_artifact_location))
    version = tracker.version_by_alias(CHAMPION)
    champion = None if version is None else {
        "version": version.version, "family": version.tags.get("family", "?"),
        "test_rmse": version.tags.get("test_rmse", "?"),
        "age_hours": _hours_since(version.last_updated_timestamp / 1000)}
    lake = store_from_url(settings.lake_url, settings.s3_endpoint_url)
    history = parquet_to_frame(lake.read_bytes(HEALTH_KEY)) if lake.exists(HEALTH_KEY) else None
    windows = {"champion": settings.health.champion_fresh_hours,
               "batch_predictions": settings.health.predictions_fresh_hours}
    stale = {}
    for asset, hours in windows.items():  # the same windows as the FreshnessPolicies the Dagster UI checks
        latest = instance.get_latest_materialization_event(AssetKey(asset))
        age = _hours_since(latest.timestamp) if latest else float("inf")
        if age > hours:
            stale[asset] = age
    runs = instance.get_run_records(RunsFilter(job_name=PIPELINE_JOB), limit=1)
    last_retrain = None if not runs else {
        "status": runs[0].dagster_run.status.value, "age_hours": _hours_since(runs[0].create_timestamp.timestamp()),
        "reason": runs[0].dagster_run.tags.get("bodyfat/retrain_reason", "run by hand (no sensor reason)")}
    return health_text(champion=champion, history=history, stale=stale, last_retrain=last_retrain)


def health_command() -> int:
    settings = Settings.from_env()
    if not (settings.dagster_home / "dagster.yaml").exists():
        print(f"no Dagster instance at {settings.dagster_home}: run `make demo` first")
        return 1
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        print(gather(settings, instance))
    return 0
