"""Dagster entry point (`[tool.dagster] module_name`, workspace.yaml, `dagster api grpc -m`)."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor, multiprocess_executor

from bodyfat_assets.assets.data import bodyfat_splits, cleaned_bodyfat, raw_bodyfat
from bodyfat_assets.assets.model import champion, tuned_model
from bodyfat_assets.assets.predictions import batch_predictions
from bodyfat_assets.checks import ALL_CHECKS
from bodyfat_assets.resources import build_resources
from bodyfat_assets.settings import Settings

ASSETS = [raw_bodyfat, cleaned_bodyfat, bodyfat_splits, tuned_model, champion, batch_predictions]
PIPELINE_JOB = "bodyfat_pipeline"


def build_definitions(settings: Settings) -> Definitions:
    # Embedded: one process, so a run does not pay for importing the ML stack once per step. Production: a
    # process per step (and, with a container run launcher, a container per run).
    executor = multiprocess_executor if settings.is_production else in_process_executor
    pipeline_job = define_asset_job(
        PIPELINE_JOB, selection=AssetSelection.all(), description="Ingest, clean, split, tune, promote, score."
    )
    return Definitions(
        assets=ASSETS,
        asset_checks=ALL_CHECKS,
        jobs=[pipeline_job],
        resources=build_resources(settings),
        executor=executor,
    )


defs = build_definitions(Settings.from_env())
