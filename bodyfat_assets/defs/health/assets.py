"""Model health: the champion of the moment scores every labeled file before it joins training (live_performance),
and model_health summarises all files over time. Drift of the file against the champion's training rows is a WARN
check on the same partition: it never blocks ingestion.

What the API served comes back too: a labels file from landing/labels/ is joined to the prediction log
(served_performance, one partition per labels file), and each day of the log gets the scoring files' drift check
(served_traffic, one partition per UTC day)."""


from collections.abc import Iterator

import pandas as pd
from bodyfat_contract import FEATURE_NAMES, TARGET
from bodyfat_contract.registry import CHAMPION
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AutomationCondition,
    BackfillPolicy,
    MetadataValue,
    Output,
    asset,
)

from bodyfat_assets.asset_keys import LIVE_PERFORMANCE, MODEL_HEALTH, SERVED_PERFORMANCE, SERVED_TRAFFIC
from bodyfat_assets.core.cleaning import SOURCE
from bodyfat_assets.core.health import served
from bodyfat_assets.core.health.assess import assess_labeled_file, assess_scoring_batch, drifted
from bodyfat_assets.core.health.drift import drift_table
from bodyfat_assets.core.health.report import health_png
from bodyfat_assets.core.landing.naming import LABELS
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.io_manager import PartitionFrames
from bodyfat_assets.landing_zone import LandingZone, read_partition_file
from bodyfat_assets.metadata import image, table
from bodyfat_assets.partitions import LABELED_FILES, LABELS_FILES, SERVED_DAYS
from bodyfat_assets.resources import TrackingResource

HEALTH_GROUP = "health"
LABELED_FILE_DRIFT = "labeled_file_drift"
SERVED_TRAFFIC_DRIFT = "served_traffic_drift"
LABELS_FILE = "labels_file"
NOT_MEASURED_COLUMNS = [served.LABEL_ROW, served.PREDICTION_ID, "id", "BodyFat", served.STATUS, served.REASON]


@asset(key=LIVE_PERFORMANCE, group_name=HEALTH_GROUP, partitions_def=LABELED_FILES,
       backfill_policy=BackfillPolicy.single_run(),
       check_specs=[AssetCheckSpec(LABELED_FILE_DRIFT, asset=LIVE_PERFORMANCE,
                                   description="Each feature and the target against the champion's training rows: "
                                               "KS, p-value, PSI; WARN only (over every file of the run).")],
       description="The champion of the moment on a newly labeled file, before the file joins training: RMSE, MAE, "
                   "bias (actual − predicted), 90 % interval coverage, and the retrain evidence they make.")
def live_performance(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame, tracking: TrackingResource,
                     health: HealthMonitor) -> Iterator[Output | AssetCheckResult]:
    tracker = tracking.tracker(context)
    current = tracker.version_by_alias(CHAMPION)  # a registry error fails the step; only "none" means none
    model, card = tracker.load_model(str(current.version)) if current else (None, None)
    reference, thresholds, policy = health.reference_rows(), health.thresholds(), health.policy()
    rows, drifts, drifted = {}, [], []
    for key in context.partition_keys:  # the files landed together and ingested in this run, each measured alone
        assessment = assess_labeled_file(raw_bodyfat[raw_bodyfat[SOURCE] == key], model, card,
                                         str(current.version) if current else None, reference, thresholds, policy)
        rows[key] = row = assessment.as_row(key)
        if assessment.live is None:
            context.log.info(f"{key}: no champion yet: nothing to measure this file against")
        else:
            context.log.info(f"{key}: v{assessment.model_version} on {assessment.live.rows} new rows: RMSE "
                             f"{assessment.live.rmse:.2f} (test {assessment.champion_test_rmse}), coverage "
                             f"{assessment.live.coverage:.2f}; evidence: {row['evidence'] or 'none'}")
        context.add_asset_metadata({
            **{k: v for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool) and v == v},
            "model_version": row["model_version"],
            "evidence": row["evidence"] or "none",
            "suspect_labels": row["suspect_labels"] or "no",
        }, partition_key=key)
        table_of_file = drift_table(assessment.drift)
        drifts.append(table_of_file.assign(file=key) if len(context.partition_keys) > 1 else table_of_file)
        drifted += [f"{key}: {f}" if len(context.partition_keys) > 1 else f
                    for f in [*assessment.drifted_features, *([TARGET.name] if row["target_drifted"] else [])]]
    yield Output(PartitionFrames({key: pd.DataFrame([row]) for key, row in rows.items()}))
    features = pd.concat(drifts, ignore_index=True)
    yield AssetCheckResult(
        check_name=LABELED_FILE_DRIFT, severity=AssetCheckSeverity.WARN, passed=not drifted,
        description="no champion or reference yet" if features.empty else f"drifted: {', '.join(drifted) or 'nothing'}",
        metadata={"features": table(features), "drifted": len(drifted)})


@asset(key=SERVED_PERFORMANCE, group_name=HEALTH_GROUP, partitions_def=LABELS_FILES,
       description="One labels file from landing/labels/ joined to the API's prediction log: every label row with its "
                   "fate (matched, unmatched, superseded, quarantined with the contract's reason), and what was "
                   "served measured per model version and UTC day (RMSE, MAE, bias, 90 % coverage).")
def served_performance(context: AssetExecutionContext, landing: LandingZone,
                       health: HealthMonitor) -> Output[pd.DataFrame]:
    # Partitioned by labels file, not by day: a file carries labels for predictions of any day, and one run per
    # landed file keeps the landing sensor's contract (run key, duplicate check, processed/ or rejected/).
    labels, origin = read_partition_file(context, landing, LABELS, context.partition_key,
                                         seed_path="")  # no seed partition for labels
    log = health.served_log()
    measured = served.measure_labels(log, labels).assign(**{LABELS_FILE: context.partition_key})
    counts = served.status_counts(measured)
    per_day = served.served_performance(measured[measured[served.STATUS] == served.MATCHED])
    context.log.info(f"{len(measured)} labels against {len(log)} logged predictions: {counts}")
    return Output(measured, metadata={
        "labels": len(measured),
        **counts,
        "logged_predictions": len(log),
        "by_version_and_day": table(per_day),
        "not_measured": table(measured.loc[measured[served.STATUS] != served.MATCHED, NOT_MEASURED_COLUMNS]),
        "source_file": origin["file"],
        "sha256": origin["sha256"],
    })


@asset(key=SERVED_TRAFFIC, group_name=HEALTH_GROUP, partitions_def=SERVED_DAYS,
       automation_condition=AutomationCondition.on_cron("30 0 * * *"),
       check_specs=[AssetCheckSpec(SERVED_TRAFFIC_DRIFT, asset=SERVED_TRAFFIC,
                                   description="The day's served features against the champion's training rows: "
                                               "KS, p-value, PSI, rows outside the training range (the scoring "
                                               "files' check); WARN only.")],
       description="One UTC day of the API's prediction log: predictions per model version and endpoint, mean "
                   "prediction; materialized for the day just ended shortly after midnight UTC.")
def served_traffic(context: AssetExecutionContext,
                   health: HealthMonitor) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    day = context.partition_key
    log = health.served_log([day])
    summary = served.traffic_summary(log).assign(day=day)
    yield Output(summary, metadata={"predictions": len(log), "by_model_version": table(summary)})
    drifts = assess_scoring_batch(log[list(FEATURE_NAMES)], health.reference_rows(), health.thresholds()) \
        if len(log) else []
    drifted_features = drifted(drifts)
    yield AssetCheckResult(
        check_name=SERVED_TRAFFIC_DRIFT, severity=AssetCheckSeverity.WARN, passed=not drifted_features,
        description=(f"drifted: {', '.join(drifted_features) or 'nothing'}" if drifts else
                     "nothing served that day" if log.empty else "no reference rows yet"),
        metadata={"features": table(drift_table(drifts)), "drifted": len(drifted_features),
                  "rows_outside_training_range": sum(d.outside_training_range for d in drifts)})


@asset(key=MODEL_HEALTH, group_name=HEALTH_GROUP,
       ins={"live_performance": AssetIn(LIVE_PERFORMANCE, input_manager_key="ingested_partitions"),
            "served_performance": AssetIn(SERVED_PERFORMANCE, input_manager_key="optional_partitions"),
            "served_traffic": AssetIn(SERVED_TRAFFIC, input_manager_key="optional_partitions")},
       automation_condition=AutomationCondition.any_deps_updated().since_last_handled()
       & ~AutomationCondition.in_progress(),
       description="Every labeled file's live RMSE and coverage, in landing order, against the champion's test RMSE "
                   "and the nominal 0.90; beside them, what the API served: predictions per day and model version, "
                   "and its error on served labels per model version.")
def model_health(live_performance: pd.DataFrame, served_performance: pd.DataFrame,
                 served_traffic: pd.DataFrame) -> Output[pd.DataFrame]:
    history = live_performance[live_performance["rows"] > 0].reset_index(drop=True)
    latest = history.iloc[-1] if len(history) else None
    labeled = served.latest_labels(served_performance)
    return Output(history, metadata={
        "files_measured": len(history),
        "latest_live_rmse": MetadataValue.float(float(latest["rmse"])) if latest is not None else "none",
        "latest_coverage": MetadataValue.float(float(latest["coverage"])) if latest is not None else "none",
        "history": table(history),
        **({"plot": image(health_png(history), "model health")} if len(history) else {}),
        "served_labels_matched": len(labeled),
        "served_labels_unmatched": served.status_counts(served_performance)[served.UNMATCHED]
        if len(served_performance) else 0,
        "served_by_version": table(served.performance_by_version(labeled)),
        "served_traffic_by_day": table(served_traffic.sort_values("day", ascending=False)
                                       if len(served_traffic) else served_traffic),
    })
