"""tuned_model → champion: tune, log and register a challenger; promote it only when it is better."""


from collections.abc import Callable
from dataclasses import replace
from functools import cache

import pandas as pd
from bodyfat_contract import TARGET, model_features
from dagster import AssetExecutionContext, AssetIn, Config, DataVersion, MetadataValue, Output, asset

from bodyfat_assets.asset_keys import CHAMPION, SERVED_PERFORMANCE, TUNED_MODEL
from bodyfat_assets.core import evaluation
from bodyfat_assets.core.health.served import latest_labels, shadow_evidence
from bodyfat_assets.core.model_outputs import ChampionOutcome, TunedModel
from bodyfat_assets.core.promotion import quality_gate
from bodyfat_assets.core.splits import train_test_frames, trusted_holdout
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.metadata import image, table
from bodyfat_assets.partitions import TUNING_POOL
from bodyfat_assets.resources import PipelineSettings, TrackingResource

MODEL_GROUP = "model"


class TuningRunConfig(Config):
    """Per-run overrides; anything left empty comes from the environment (PipelineSettings)."""

    n_trials: int | None = None
    timeout_s: float | None = None
    families: list[str] | None = None
    features: list[str] | None = None


@asset(key=TUNED_MODEL, group_name=MODEL_GROUP, pool=TUNING_POOL,
       description="Optuna search over model families; the best is registered as challenger.")
def tuned_model(context: AssetExecutionContext, config: TuningRunConfig, bodyfat_splits: pd.DataFrame,
                pipeline: PipelineSettings, tracking: TrackingResource) -> Output[TunedModel]:
    # Imported in the asset, as in `champion`: every run worker imports these definitions, and tuning's libraries
    # (optuna, matplotlib; mlflow and skops through tracking) are most of that import's CPU, which the runs that
    # never tune or promote (ingestion, labels, health) need not pay.
    import optuna

    from bodyfat_assets.core.training import train_challenger

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress goes to the Dagster log instead
    features = config.features or model_features(pipeline.data.allow_density)
    tuning = replace(pipeline.tuning_config(config.n_trials, config.timeout_s, config.families),
                     trial_user_attrs={"worker": f"dagster:{context.run_id}"})
    tracker = tracking.tracker(context)
    with tracker.parent_run(f"tune-{context.run_id[:8]}") as run:
        run_id = run.info.run_id
        context.log.info(f"tuning {', '.join(tuning.families) or 'every model family'} with {tuning.n_trials} "
                         f"trials, {tuning.cv_folds}-fold CV")
        with tracker.trial_logger(run_id, context.log.info, tuning.n_trials, tuning.cv_folds) as log_trial:
            trained = train_challenger(bodyfat_splits, features, tuning, callbacks=[log_trial])
        version, card, registered = tracker.log_challenger(trained, run_id)
    result, metrics = trained.tuning, trained.metrics
    how = "registered" if registered else "identical to an existing version, not registered again; reused"
    context.log.info(f"{how} {version.name} v{version.version} ({result.best_family}) as challenger: "
                     f"test RMSE {metrics.rmse:.3f}, 90% interval ±{trained.half_width:.2f}, "
                     f"coverage {trained.coverage:.0%}")
    summary = TunedModel(**{**card, "model_name": version.name, "model_version": str(version.version),
                            "test_interval_coverage_90": trained.coverage, "study": result.study.study_name,
                            "trials_this_run": result.trials_this_run, "trials_in_study": len(result.study.trials)})
    return Output(summary, metadata={
        "model_version": str(version.version),
        "newly_registered": registered,
        "family": result.best_family,
        "best_params": MetadataValue.json(result.best_params),
        "cv_rmse": result.best_cv_rmse,
        **metrics.as_dict(),
        "interval_half_width_90": trained.half_width,
        "test_interval_coverage_90": trained.coverage,
        "test_interval_coverage_90_by_bmi": table(trained.coverage_by_bmi),
        "best_cv_rmse_by_family": table(trained.best_by_family()),
        "trials": f"{result.trials_this_run} this run, {len(result.study.trials)} in study {result.study.study_name}",
        "tuning_seconds": round(result.seconds, 1),
        "mlflow_run_id": run_id,
        **({"mlflow_run": MetadataValue.url(url)} if (url := tracker.run_url(run_id)) else {}),
        **{name: image(png, name) for name, png in trained.figures.items()},
    })


@asset(key=CHAMPION, group_name=MODEL_GROUP,
       ins={"served_performance": AssetIn(SERVED_PERFORMANCE, input_manager_key="optional_partitions")},
       description="The registry's `champion` alias, moved only for a better model. Beside the test split and the "
                   "trusted holdout, its metadata shows the served model and its shadow challenger on the same "
                   "labeled served rows, once BODYFAT_SERVED_MIN_LABELS of them exist.")
def champion(context: AssetExecutionContext, tuned_model: TunedModel, bodyfat_splits: pd.DataFrame,
             served_performance: pd.DataFrame, pipeline: PipelineSettings, tracking: TrackingResource,
             health: HealthMonitor) -> Output[ChampionOutcome]:
    from bodyfat_assets.tracking import promote_challenger

    tracker = tracking.tracker(context)
    _, test = train_test_frames(bodyfat_splits)
    holdout = trusted_holdout(bodyfat_splits)  # raises, before anything is decided, when there is none
    load = cache(tracker.load_model)  # each version is scored on two row sets: load it once

    def rmse_on(rows: pd.DataFrame) -> Callable[[str], float]:
        def rmse(version: str) -> float:
            model, card = load(version)
            return evaluation.regression_metrics(rows[TARGET.name], model.predict(rows[card["features"]])).rmse
        return rmse

    findings = quality_gate(tuned_model.features, tuned_model.test_rmse, bodyfat_splits,
                            allow_density=pipeline.data.allow_density, rmse_ceiling=pipeline.promotion.rmse_ceiling,
                            baseline_tolerance=pipeline.promotion.baseline_tolerance)
    decision = promote_challenger(tracker, tuned_model.model_version, rmse_on(test), rmse_on(holdout),
                                  pipeline.promotion.margin, findings, {"dagster_run_id": context.run_id})
    context.log.info(f"{decision.outcome} v{decision.challenger_version}: {decision.reason}; "
                     f"champion is v{decision.champion_version}")
    served = shadow_evidence(latest_labels(served_performance), health.health.served_min_labels)
    context.log.info(f"served traffic: {served.summary()}")
    # The champion that serves after this decision, on today's test split and at its promotion: the
    # champion_fits_current_data check compares them (a blocked decision scores no champion by itself).
    serving = decision.champion_version
    rmse_now = rmse_on(test)(serving) if serving is not None else None
    rmse_at_promotion = float(load(serving)[1]["test_rmse"]) if serving is not None else None
    result = ChampionOutcome.of(tuned_model.model_name, decision, rmse_now, rmse_at_promotion)
    # The data version is the model version: Declarative Automation re-scores only when it changes.
    return Output(result, data_version=DataVersion(str(decision.champion_version)), metadata={
        "decision": decision.outcome,
        "reason": decision.reason,
        "champion_version": str(decision.champion_version),
        "challenger_version": decision.challenger_version,
        "challenger_test_rmse": decision.challenger_rmse,
        "champion_test_rmse": MetadataValue.float(decision.champion_rmse) if decision.champion_rmse is not None
        else "none",
        **({"champion_rmse_now": rmse_now, "champion_rmse_at_promotion": rmse_at_promotion,
            "champion_family": str(load(serving)[1].get("family", "?"))} if rmse_now is not None else {}),
        "gate": table(pd.DataFrame([{"check": f.check, "passed": f.passed, "detail": f.detail} for f in findings])),
        "trusted_holdout_rows": len(holdout),
        "scores": table(pd.DataFrame(decision.comparisons()).assign(rows=[len(test), len(holdout)])),
        # Evidence from live traffic, shown, not decided on: the shadow was whichever challenger served beside.
        "served_evidence": served.summary(),
        **({"served_comparison": table(served.table)} if served.enough else {}),
    })
