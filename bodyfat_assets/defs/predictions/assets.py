"""batch_predictions: the champion scores each scoring file (one partition per file; `seed` is the seed rows
without their target). Streamed batch by batch (core/scoring/stream.py) into `predictions/<partition>.parquet` in
the lake, each row with the model version; published only once complete."""


import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    AutomationCondition,
    Failure,
    MetadataValue,
    Output,
    asset,
)

from bodyfat_assets.asset_keys import BATCH_PREDICTIONS
from bodyfat_assets.core.health.assess import assess_scoring_batch, drifted
from bodyfat_assets.core.health.drift import drift_table
from bodyfat_assets.core.landing.partition_file import PartitionFileGone
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.core.model_outputs import ChampionOutcome
from bodyfat_assets.core.scoring.source import rescore_skip_reason, scoring_source
from bodyfat_assets.core.scoring.stream import score_file
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.io_manager import StagedParquet
from bodyfat_assets.landing_zone import LandingZone, file_gone, first_materialized_at
from bodyfat_assets.metadata import table
from bodyfat_assets.partitions import SCORING_FILES, SCORING_POOL, landed_files
from bodyfat_assets.resources import PipelineSettings, TrackingResource

RESCORE_ON_NEW_CHAMPION = (
    AutomationCondition.any_deps_match(AutomationCondition.data_version_changed())
    & ~AutomationCondition.in_progress()
).with_label("the champion's model version changed")
"""`champion` reports its model version as its data version: a rejected challenger re-materializes `champion`
with the same version and re-scores nothing; a promotion requests every scoring partition, and the run of a file
first scored outside BODYFAT_RESCORE_WINDOW_DAYS, or whose file is gone, ends at once with a note (see
`batch_predictions`). New files are scored by the run the landing sensor requests."""

AUTOMATION_RUN_TAGS = {"bodyfat/requested_by": "declarative_automation"}
"""Set on every run the project's Declarative Automation sensor requests (its `run_tags`): the re-scoring window
applies to those runs only; a run started by hand always scores."""


SCORING_FILE_DRIFT = "scoring_file_drift"


@asset(key=BATCH_PREDICTIONS, group_name="predictions", partitions_def=SCORING_FILES,
       io_manager_key="predictions_io_manager", pool=SCORING_POOL, automation_condition=RESCORE_ON_NEW_CHAMPION,
       output_required=False,
       check_specs=[AssetCheckSpec(SCORING_FILE_DRIFT, asset=BATCH_PREDICTIONS,
                                   description="The scoring file's 13 features (a uniform sample of up to 50,000 "
                                               "rows) against the champion's training rows: KS, p-value, PSI, rows "
                                               "outside the training range; WARN only, never blocks scoring.")],
       description="Champion predictions with 90 % intervals and the model version used, one partition per scoring "
                   "file (and `seed`), at predictions/<partition>.parquet, streamed in batches of "
                   "BODYFAT_SCORING_BATCH_ROWS rows. Re-scored by Declarative Automation when the champion's "
                   "version changes, for files first scored within BODYFAT_RESCORE_WINDOW_DAYS (default 7 days); "
                   "older files, and files whose source is gone, keep their predictions and the run says so.")
def batch_predictions(context: AssetExecutionContext, champion: ChampionOutcome, tracking: TrackingResource,
                      pipeline: PipelineSettings, landing: LandingZone,
                      health: HealthMonitor) -> Iterator[Output[StagedParquet] | AssetCheckResult | AssetObservation]:
    version = champion.champion_version
    requested_by_automation = AUTOMATION_RUN_TAGS.items() <= context.run.tags.items()
    if version is None and not requested_by_automation:
        raise RuntimeError("no champion model has been promoted yet; nothing can score the batch")
    key, first_scored_at = context.partition_key, first_materialized_at(context, context.partition_key)
    # Declarative Automation cannot express the window, nor "a champion exists": its conditions know nothing of a
    # dynamic partition's age (time-window conditions apply to time partitions only), and a first challenger that
    # was blocked still changes `champion`'s data version (to "None"). The requested run decides and ends at once.
    skip = rescore_skip_reason(first_scored_at, time.time(), pipeline.scoring.rescore_window_days, version) \
        if requested_by_automation else None
    try:
        source = scoring_source(landing.store(), key, landed_files(context.run.tags).get(key),
                                pipeline.data.seed_dataset)
    except PartitionFileGone as gone:
        if first_scored_at is None:
            raise file_gone(key, gone) from gone
        skip = skip or f"{gone}; its last predictions stay as they are"
    if skip:
        context.log.warning(f"batch_predictions {key} not re-scored: {skip}")
        yield AssetObservation(asset_key=context.asset_key, partition=key,
                               metadata={"rescore_skipped": skip, "champion_version": str(version)})
        # Dagster requires every check of an @asset to report even when its output is skipped: this one says so.
        yield AssetCheckResult(check_name=SCORING_FILE_DRIFT, severity=AssetCheckSeverity.WARN, passed=True,
                               description=f"not evaluated, the file was not re-scored: {skip}",
                               metadata={"rescore_skipped": skip})
        return
    model, card = tracking.tracker(context).load_model(str(version))
    with tempfile.TemporaryDirectory(prefix="bodyfat-scoring-") as staging:
        output = Path(staging) / f"{key}.parquet"
        try:
            with source.open() as file:
                summary = score_file(file, source.name, key, model, card, str(version), output,
                                     pipeline.scoring.batch_rows)
        except Reject as rejection:  # passed the sensor, fails now (the contract changed): nothing is published
            moved_to = source.mark_rejected(rejection)
            raise Failure(f"scoring partition {key}: {rejection}" + (f"; moved to {moved_to}" if moved_to else ""),
                          allow_retries=False) from rejection
        context.log.info(f"scored {summary.scored_rows} rows with v{version}; {summary.unscored_rows} not scorable")
        yield Output(StagedParquet(output), metadata={
            "rows": summary.rows,
            "unscored_rows": summary.unscored_rows,
            "model_version": str(version),
            "source_file": source.location,
            "mean_prediction": summary.mean_prediction,
            "unscored": table(summary.unscored),
            "preview": table(summary.preview),
            "interval": MetadataValue.text(f"±{card['interval_half_width_90']:.2f} percentage points (90 %)"),
            "rescore_window_days": pipeline.scoring.rescore_window_days,
        })
    moved_to = source.mark_processed(key)
    if moved_to:
        context.log.info(f"moved {source.location} to {moved_to}")
    drifts = assess_scoring_batch(summary.feature_sample, health.reference_rows(), health.thresholds())
    drifted_features = drifted(drifts)
    yield AssetCheckResult(
        check_name=SCORING_FILE_DRIFT, severity=AssetCheckSeverity.WARN, passed=not drifted_features,
        description=f"drifted: {', '.join(drifted_features) or 'nothing'}" if drifts else "no reference rows yet",
        metadata={"features": table(drift_table(drifts)), "drifted": len(drifted_features),
                  "rows_outside_training_range": sum(d.outside_training_range for d in drifts)})
