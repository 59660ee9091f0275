"""Model health: the champion of the moment scores every labeled file before it joins training (live_performance),
and model_health summarises all files over time. Drift of the file against the champion's training rows is a WARN
check on the same partition: it never blocks ingestion."""


from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AutomationCondition,
    MetadataValue,
    Output,
    asset,
)

from bodyfat_assets.asset_keys import LIVE_PERFORMANCE, MODEL_HEALTH
from bodyfat_assets.core.health.assess import assess_labeled_file
from bodyfat_assets.core.health.drift import drift_table
from bodyfat_assets.core.health.report import health_png
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.metadata import image, table
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.resources import TrackingResource
from bodyfat_assets.tracking import CHAMPION

HEALTH_GROUP = "health"
LABELED_FILE_DRIFT = "labeled_file_drift"


@asset(key=LIVE_PERFORMANCE, group_name=HEALTH_GROUP, partitions_def=LABELED_FILES,
       check_specs=[AssetCheckSpec(LABELED_FILE_DRIFT, asset=LIVE_PERFORMANCE,
                                   description="Each feature and the target against the champion's training rows: "
                                               "KS, p-value, PSI; WARN only.")],
       description="The champion of the moment on a newly labeled file, before the file joins training: RMSE, MAE, "
                   "bias (actual − predicted), 90 % interval coverage, and the retrain evidence they make.")
def live_performance(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame, tracking: TrackingResource,
                     health: HealthMonitor) -> Iterator[Output | AssetCheckResult]:
    tracker = tracking.tracker(context)
    current = tracker.version_by_alias(CHAMPION)  # a registry error fails the step; only "none" means none
    model, card = tracker.load_model(str(current.version)) if current else (None, None)
    assessment = assess_labeled_file(raw_bodyfat, model, card, str(current.version) if current else None,
                                     health.reference_rows(), health.thresholds(), health.policy())
    row = assessment.as_row(context.partition_key)
    if assessment.live is None:
        context.log.info("no champion yet: nothing to measure this file against")
    else:
        context.log.info(f"v{assessment.model_version} on {assessment.live.rows} new rows: RMSE "
                         f"{assessment.live.rmse:.2f} (test {assessment.champion_test_rmse}), coverage "
                         f"{assessment.live.coverage:.2f}; evidence: {row['evidence'] or 'none'}")
    yield Output(pd.DataFrame([row]), metadata={
        **{k: v for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool) and v == v},
        "model_version": row["model_version"],
        "evidence": row["evidence"] or "none",
        "suspect_labels": row["suspect_labels"] or "no",
    })
    drifts = drift_table(assessment.drift)
    yield AssetCheckResult(
        check_name=LABELED_FILE_DRIFT, severity=AssetCheckSeverity.WARN,
        passed=not assessment.drifted_features and not row["target_drifted"],
        description=("no champion or reference yet" if drifts.empty else
                     f"drifted: {', '.join(drifts.loc[drifts['verdict'] == 'drift', 'feature']) or 'nothing'}"),
        metadata={"features": table(drifts), "drifted": len(assessment.drifted_features)})


@asset(key=MODEL_HEALTH, group_name=HEALTH_GROUP,
       ins={"live_performance": AssetIn(LIVE_PERFORMANCE, input_manager_key="ingested_partitions")},
       automation_condition=AutomationCondition.any_deps_updated().since_last_handled()
       & ~AutomationCondition.in_progress(),
       description="Every labeled file's live RMSE and coverage, in landing order, against the champion's test RMSE "
                   "and the nominal 0.90.")
def model_health(live_performance: pd.DataFrame) -> Output[pd.DataFrame]:
    history = live_performance[live_performance["rows"] > 0].reset_index(drop=True)
    latest = history.iloc[-1] if len(history) else None
    return Output(history, metadata={
        "files_measured": len(history),
        "latest_live_rmse": MetadataValue.float(float(latest["rmse"])) if latest is not None else "none",
        "latest_coverage": MetadataValue.float(float(latest["coverage"])) if latest is not None else "none",
        "history": table(history),
        **({"plot": image(health_png(history), "model health")} if len(history) else {}),
    })
