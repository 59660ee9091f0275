"""Dagster resources, every one built from the configuration model (`Settings`) in `resources_for`.

Each resource holds the settings groups it reads as nested config (`group_config.py`), so a knob is named where it
is declared (settings.py) and where it is used, and each conversion (tuning config, tracking config, drift
thresholds) is a method of its group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import AssetExecutionContext, ConfigurableResource

from bodyfat_assets.group_config import (
    DataGroup,
    HealthGroup,
    LakeGroup,
    LandingGroup,
    PromotionGroup,
    ScoringGroup,
    TrackingGroup,
    TuningGroup,
)
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.io_manager import IngestedPartitionsLoader, LakeIOManager, PredictionsIOManager
from bodyfat_assets.landing_zone import LandingZone, RetrainPolicy
from bodyfat_assets.settings import Settings

if TYPE_CHECKING:
    from bodyfat_assets.core.tuning import TuningConfig
    from bodyfat_assets.tracking import Tracker


class TrackingResource(ConfigurableResource):
    """MLflow tracking and registry. Our own resource rather than dagster-mlflow's `mlflow_tracking`: that one is
    a legacy (non-Configurable) resource that opens one MLflow run per Dagster run at start-up, while each asset
    here needs its own parent run, nested trial runs and registry calls. We keep its useful convention: every
    MLflow run is tagged with `dagster_run_id`."""

    tracking: TrackingGroup
    dagster_ui: str | None = None

    def tracker(self, context: AssetExecutionContext) -> Tracker:
        # Imported here: every run worker imports these definitions, and mlflow with skops costs 3 s of CPU that
        # the runs which never touch the registry (ingestion, labels, health) need not pay.
        from bodyfat_assets.tracking import DAGSTER_RUN_URL_TAG, Tracker

        tags = {"dagster_run_id": context.run_id, "dagster_asset": context.asset_key.to_user_string()}
        if self.dagster_ui:
            tags[DAGSTER_RUN_URL_TAG] = f"{self.dagster_ui}/runs/{context.run_id}"
        return Tracker(self.tracking.build(), run_tags=tags)


class PipelineSettings(ConfigurableResource):
    """Data, tuning, promotion and scoring settings; per-run overrides go through asset config."""

    data: DataGroup
    tuning: TuningGroup
    promotion: PromotionGroup
    scoring: ScoringGroup

    def tuning_config(self, n_trials: int | None = None, timeout_s: float | None = None,
                      families: list[str] | None = None) -> TuningConfig:
        return self.tuning.build().tuning_config(n_trials, timeout_s, families)


def resources_for(settings: Settings) -> dict[str, object]:
    """Every resource key the definitions bind, from `settings`: the one step from the configuration to Dagster."""
    lake = LakeGroup.of(settings.lake)
    landing = LandingGroup.of(settings.landing)
    return {
        "io_manager": LakeIOManager(lake=lake),
        "ingested_partitions": IngestedPartitionsLoader(lake=lake),
        "withdrawals": IngestedPartitionsLoader(lake=lake, optional=True),
        "optional_partitions": IngestedPartitionsLoader(lake=lake, optional=True),
        "predictions_io_manager": PredictionsIOManager(lake=lake),
        "landing": LandingZone(lake=lake, landing=landing),
        "retrain_policy": RetrainPolicy(landing=landing),
        "health": HealthMonitor(lake=lake, health=HealthGroup.of(settings.health)),
        "tracking": TrackingResource(tracking=TrackingGroup.of(settings.tracking_config()),
                                     dagster_ui=settings.dagster_ui),
        "pipeline": PipelineSettings(
            data=DataGroup.of(settings.data),
            tuning=TuningGroup.of(settings.tuning),
            promotion=PromotionGroup.of(settings.promotion),
            scoring=ScoringGroup.of(settings.scoring),
        ),
    }
