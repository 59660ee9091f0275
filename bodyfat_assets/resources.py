"""Dagster resources, built from the configuration model (`Settings`) in `build_resources`."""


from dagster import AssetExecutionContext, ConfigurableResource

from bodyfat_assets.core.tuning import TuningConfig
from bodyfat_assets.io_manager import LakeIOManager
from bodyfat_assets.settings import SEED_DATASET, Settings
from bodyfat_assets.tracking import DAGSTER_RUN_URL_TAG, Tracker, TrackingConfig


class TrackingResource(ConfigurableResource):
    """MLflow tracking and registry. Our own resource rather than dagster-mlflow's `mlflow_tracking`: that one is
    a legacy (non-Configurable) resource that opens one MLflow run per Dagster run at start-up, while each asset
    here needs its own parent run, nested trial runs and registry calls. We keep its useful convention: every
    MLflow run is tagged with `dagster_run_id`."""

    tracking_uri: str
    experiment_name: str
    model_name: str
    artifact_location: str | None = None
    mlflow_ui: str | None = None
    dagster_ui: str | None = None

    def tracker(self, context: AssetExecutionContext) -> Tracker:
        config = TrackingConfig(self.tracking_uri, self.experiment_name, self.model_name, self.artifact_location,
                                self.mlflow_ui)
        tags = {"dagster_run_id": context.run_id, "dagster_asset": context.asset_key.to_user_string()}
        if self.dagster_ui:
            tags[DAGSTER_RUN_URL_TAG] = f"{self.dagster_ui}/runs/{context.run_id}"
        return Tracker(config, run_tags=tags)


class PipelineSettings(ConfigurableResource):
    """Data, tuning and promotion settings; per-run overrides go through asset config."""

    seed_dataset: str
    test_fraction: float
    split_seed: int
    allow_density: bool
    n_trials: int
    timeout_s: float | None
    cv_folds: int
    seed: int
    families: list[str]
    optuna_storage: str | None
    promotion_margin: float
    rmse_ceiling: float
    baseline_tolerance: float
    scoring_batch_rows: int
    rescore_window_days: float

    def tuning_config(self, n_trials: int | None = None, timeout_s: float | None = None,
                      families: list[str] | None = None) -> TuningConfig:
        return TuningConfig(
            n_trials=n_trials or self.n_trials,
            timeout_s=timeout_s or self.timeout_s,
            cv_folds=self.cv_folds,
            seed=self.seed,
            families=tuple(families or self.families),
            storage=self.optuna_storage,
        )


def build_resources(settings: Settings) -> dict[str, object]:
    return {
        "io_manager": LakeIOManager(base_url=settings.lake_url, s3_endpoint_url=settings.s3_endpoint_url),
        "tracking": TrackingResource(
            tracking_uri=settings.mlflow_tracking_uri,
            experiment_name=settings.experiment_name,
            model_name=settings.model_name,
            artifact_location=settings.mlflow_artifact_location,
            mlflow_ui=settings.mlflow_ui,
            dagster_ui=settings.dagster_ui,
        ),
        "pipeline": PipelineSettings(
            seed_dataset=str(SEED_DATASET),
            test_fraction=settings.test_fraction,
            split_seed=settings.split_seed,
            allow_density=settings.allow_density,
            n_trials=settings.tuning.n_trials,
            timeout_s=settings.tuning.timeout_s,
            cv_folds=settings.tuning.cv_folds,
            seed=settings.tuning.seed,
            families=list(settings.tuning.families),
            optuna_storage=settings.optuna_storage,
            promotion_margin=settings.promotion.margin,
            rmse_ceiling=settings.promotion.rmse_ceiling,
            baseline_tolerance=settings.promotion.baseline_tolerance,
            scoring_batch_rows=settings.scoring.batch_rows,
            rescore_window_days=settings.scoring.rescore_window_days,
        ),
    }
