"""Dagster entry point (`dg`, `[tool.dagster] module_name`, workspace.yaml, `dagster api grpc -m`).

Assets, checks, jobs and sensors are collected from `defs/` (one folder per area); this module adds what depends on
the environment: resources built from the one configuration model, and the executor.
"""

import warnings
from pathlib import Path

import dagster as dg

from bodyfat_assets.defs.landing.sensors import landing_sensors
from bodyfat_assets.defs.predictions.sensors import automation_sensor
from bodyfat_assets.load_time import with_freshness
from bodyfat_assets.resources import resources_for
from bodyfat_assets.settings import Settings

# Deliberate choices, not accidents: partitioned asset checks (preview) and Output(data_version=...) (beta) are what
# this project shows; their warnings repeated 13 times in one demo run and on every code-server load.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def production_executor() -> dg.ExecutorDefinition:
    """A process per step, forked from a server that has already imported the ML stack.

    With the default spawn, every step re-imported Dagster, MLflow, scikit-learn and Optuna: 15-25 s per step on
    two cores, most of a run. The embedded default runs in one process instead (in_process_executor).
    """
    return dg.multiprocess_executor.configured(
        {"start_method": {"forkserver": {"preload_modules": ["bodyfat_assets.definitions"]}}},
        name="preloaded_multiprocess",
    )


def build_definitions(settings: Settings) -> dg.Definitions:
    """Everything under defs/, bound to the resources, executor, sensor cadence and freshness windows of `settings`
    (tests pass their own)."""
    executor = production_executor() if settings.is_production else dg.in_process_executor
    sensors = [*landing_sensors(settings.landing), automation_sensor(settings.landing)]
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(resources=resources_for(settings), executor=executor, sensors=sensors),
    ).map_asset_specs(func=with_freshness(settings.health))


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
