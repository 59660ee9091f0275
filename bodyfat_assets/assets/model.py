"""tuned_model → champion: tune, log and register a challenger; promote it only when it is better."""


from dataclasses import replace
from typing import Any

import mlflow
import optuna
import pandas as pd
from dagster import AssetExecutionContext, Config, MetadataValue, Output, asset

from bodyfat_assets.core import evaluation as ev
from bodyfat_assets.core.schema import TARGET, model_features
from bodyfat_assets.core.splits import train_test_frames
from bodyfat_assets.core.tuning import tune
from bodyfat_assets.metadata import image, markdown_table
from bodyfat_assets.resources import PipelineSettings, TrackingResource
from bodyfat_assets.tracking import model_card, promote_challenger

MODEL_GROUP = "model"


class TuningRunConfig(Config):
    """Per-run overrides; anything left empty comes from the environment (PipelineSettings)."""

    n_trials: int | None = None
    timeout_s: float | None = None
    families: list[str] | None = None
    features: list[str] | None = None


@asset(group_name=MODEL_GROUP, description="Optuna search over model families; the best is registered as challenger.")
def tuned_model(context: AssetExecutionContext, config: TuningRunConfig, bodyfat_splits: pd.DataFrame,
                pipeline: PipelineSettings, tracking: TrackingResource) -> Output[dict[str, Any]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # progress goes to the Dagster log instead
    features = config.features or model_features(pipeline.allow_density)
    train, test = train_test_frames(bodyfat_splits)
    X, y = train[features], train[TARGET.name]
    # A different family set is a different study: Optuna cannot widen a stored categorical (core/tuning.py).
    tuning = replace(pipeline.tuning_config(config.n_trials, config.timeout_s, config.families),
                     trial_user_attrs={"worker": f"dagster:{context.run_id}"})
    tracker = tracking.tracker(context)
    with tracker.parent_run(f"tune-{context.run_id[:8]}") as run:
        run_id = run.info.run_id
        families = ", ".join(tuning.families) or "every model family"
        context.log.info(f"tuning {families} with {tuning.n_trials} trials, {tuning.cv_folds}-fold CV")
        with tracker.trial_logger(run_id, context.log.info, tuning.n_trials) as log_trial:
            result = tune(X, y, tuning, callbacks=[log_trial])
        predicted = result.model.predict(test[features])
        metrics = ev.regression_metrics(test[TARGET.name], predicted)
        half_width = ev.conformal_half_width(
            ev.cross_validated_residuals(result.model, X, y, tuning.cv_folds, tuning.seed))
        coverage = ev.interval_coverage(test[TARGET.name], predicted, half_width)
        figures = {
            "predicted_vs_actual": ev.predicted_vs_actual_png(test[TARGET.name].to_numpy(), predicted, half_width),
            "residuals": ev.residuals_png(test[TARGET.name].to_numpy(), predicted),
            "study_history": ev.study_history_png(result.study),
        }
        mlflow.log_params({"family": result.best_family, "features": ",".join(features),
                           "study": result.study.study_name, "n_trials": tuning.n_trials,
                           **{f"best_{k}": v for k, v in result.best_params.items()}})
        mlflow.log_metrics({"cv_rmse": result.best_cv_rmse, **metrics.as_dict(),
                            "interval_half_width_90": half_width, "test_interval_coverage_90": coverage,
                            **{f"best_cv_rmse_{f}": v for f, v in result.best_by_family.items()}})
        tracker.log_figures(run_id, figures)
        card = model_card(features=features, family=result.best_family, params=result.best_params,
                          cv_rmse=result.best_cv_rmse, test_metrics=metrics.as_dict(), half_width=half_width,
                          run_id=run_id)
        version = tracker.log_model_version(result.model, X, card)
    context.log.info(f"registered {version.name} v{version.version} ({result.best_family}) as challenger: "
                     f"test RMSE {metrics.rmse:.3f}, 90% interval ±{half_width:.2f}, coverage {coverage:.0%}")
    summary = {**card, "model_name": version.name, "model_version": str(version.version),
               "test_interval_coverage_90": coverage, "study": result.study.study_name,
               "trials_this_run": result.trials_this_run, "trials_in_study": len(result.study.trials)}
    per_family = pd.DataFrame(sorted(result.best_by_family.items(), key=lambda kv: kv[1]),
                              columns=["family", "best_cv_rmse"])
    return Output(summary, metadata={
        "model_version": str(version.version),
        "family": result.best_family,
        "best_params": MetadataValue.json(result.best_params),
        "cv_rmse": result.best_cv_rmse,
        **metrics.as_dict(),
        "interval_half_width_90": half_width,
        "test_interval_coverage_90": coverage,
        "best_cv_rmse_by_family": markdown_table(per_family),
        "trials": f"{result.trials_this_run} this run, {len(result.study.trials)} in study {result.study.study_name}",
        "tuning_seconds": round(result.seconds, 1),
        "mlflow_run_id": run_id,
        **{name: image(png, name) for name, png in figures.items()},
    })


@asset(group_name=MODEL_GROUP, description="The registry's `champion` alias, moved only for a better model.")
def champion(context: AssetExecutionContext, tuned_model: dict[str, Any], bodyfat_splits: pd.DataFrame,
             pipeline: PipelineSettings, tracking: TrackingResource) -> Output[dict[str, Any]]:
    tracker = tracking.tracker(context)
    _, test = train_test_frames(bodyfat_splits)
    challenger_version = str(tuned_model["model_version"])

    def test_rmse(version: str) -> float:  # both scored on today's test split, whatever they were trained on
        model, card = tracker.load_model(version)
        return ev.regression_metrics(test[TARGET.name], model.predict(test[card["features"]])).rmse

    promotion = promote_challenger(tracker, challenger_version, test_rmse, pipeline.promotion_margin,
                                   {"dagster_run_id": context.run_id})
    outcome, reason, champion_version = promotion.outcome, promotion.reason, promotion.champion_version
    current_version, challenger_rmse, champion_rmse = (promotion.previous_champion_version,
                                                       promotion.challenger_rmse, promotion.champion_rmse)
    context.log.info(f"{outcome} v{challenger_version}: {reason}; champion is v{champion_version}")
    result = {"model_name": tuned_model["model_name"], "champion_version": champion_version,
              "challenger_version": challenger_version, "decision": outcome, "reason": reason,
              "challenger_test_rmse": challenger_rmse, "champion_test_rmse": champion_rmse,
              "previous_champion_version": current_version}
    return Output(result, metadata={
        "decision": outcome,
        "reason": reason,
        "champion_version": str(champion_version),
        "challenger_version": challenger_version,
        "challenger_test_rmse": challenger_rmse,
        "champion_test_rmse": MetadataValue.float(champion_rmse) if champion_rmse is not None else "none",
        "scores": markdown_table(pd.DataFrame([
            {"role": "challenger", "version": challenger_version, "test_rmse": challenger_rmse},
            {"role": "champion before", "version": current_version or "none",
             "test_rmse": champion_rmse if champion_rmse is not None else "n/a"},
        ])),
    })
