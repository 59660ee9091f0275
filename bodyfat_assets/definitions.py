"""Dagster entry point (`[tool.dagster] module_name`, workspace.yaml, `dagster api grpc -m`)."""

from dagster import (
    AssetSelection,
    AssetSpec,
    Definitions,
    ExecutorDefinition,
    define_asset_job,
    in_process_executor,
    multiprocess_executor,
)

from bodyfat_assets.assets.data import (
    DATA_GROUP,
    IngestedPartitionsLoader,
    LandingZone,
    bodyfat_splits,
    cleaned_bodyfat,
    raw_bodyfat,
)
from bodyfat_assets.assets.model import champion, tuned_model
from bodyfat_assets.assets.predictions import PredictionsIOManager, batch_predictions
from bodyfat_assets.checks import ALL_CHECKS
from bodyfat_assets.resources import build_resources
from bodyfat_assets.sensors import LANDING_ZONE, build_sensors
from bodyfat_assets.settings import Settings

ASSETS = [raw_bodyfat, cleaned_bodyfat, bodyfat_splits, tuned_model, champion, batch_predictions]
PIPELINE_JOB = "bodyfat_pipeline"
INGEST_JOB = "ingest_labeled_file"
SCORE_JOB = "score_batch"

LANDING_ZONE_SPEC = AssetSpec(
    LANDING_ZONE, group_name=DATA_GROUP,
    description="Files arriving in the lake's landing/ prefix (docs/landing.md). Not materialized: the landing "
                "sensor records an observation per tick with what it accepted and rejected, and why.")


def production_executor() -> ExecutorDefinition:
    """A process per step, forked from a server that has already imported the ML stack.

    With the default spawn, every step re-imported Dagster, MLflow, scikit-learn and Optuna: 15-25 s per step on
    two cores, most of a run. The embedded default runs in one process instead (in_process_executor).
    """
    return multiprocess_executor.configured(
        {"start_method": {"forkserver": {"preload_modules": ["bodyfat_assets.definitions"]}}},
        name="preloaded_multiprocess",
    )


def build_definitions(settings: Settings) -> Definitions:
    executor = production_executor() if settings.is_production else in_process_executor
    ingest_job = define_asset_job(
        INGEST_JOB, selection=AssetSelection.assets(raw_bodyfat),
        description="Ingest one labeled file (a raw_bodyfat partition) and move it to landing/processed/.")
    pipeline_job = define_asset_job(
        PIPELINE_JOB, selection=AssetSelection.assets(cleaned_bodyfat, bodyfat_splits, tuned_model, champion),
        description="Retrain on every ingested file: clean, split, tune, promote (the gate decides).")
    score_job = define_asset_job(
        SCORE_JOB, selection=AssetSelection.assets(batch_predictions),
        description="Score one scoring file (a batch_predictions partition) with the champion.")
    landing = LandingZone(lake_url=settings.lake_url, prefix=settings.landing.prefix,
                          s3_endpoint_url=settings.s3_endpoint_url)
    lake = {"base_url": settings.lake_url, "s3_endpoint_url": settings.s3_endpoint_url}
    return Definitions(
        assets=[*ASSETS, LANDING_ZONE_SPEC],
        asset_checks=ALL_CHECKS,
        jobs=[ingest_job, pipeline_job, score_job],
        sensors=build_sensors(settings.landing, ingest_job, pipeline_job, score_job),
        resources={
            **build_resources(settings),
            "landing": landing,
            "ingested_partitions": IngestedPartitionsLoader(**lake),
            "predictions_io_manager": PredictionsIOManager(**lake),
        },
        executor=executor,
    )


defs = build_definitions(Settings.from_env())
