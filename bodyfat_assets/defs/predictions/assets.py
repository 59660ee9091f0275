"""batch_predictions: the champion scores each scoring file (one partition per file; `seed` is the seed rows
without their target). Written to `predictions/<partition>.parquet` in the lake, each row with the model version."""


from collections.abc import Iterator
from typing import Any

import pandas as pd
from bodyfat_contract import ROW_ID
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AutomationCondition,
    MetadataValue,
    Output,
    asset,
)

from bodyfat_assets.core.cleaning import SOURCE
from bodyfat_assets.core.health.assess import assess_scoring_batch, drifted
from bodyfat_assets.core.health.drift import drift_table
from bodyfat_assets.core.landing.naming import SCORE
from bodyfat_assets.core.landing.rows import scoring_rows
from bodyfat_assets.core.landing.validation import ID
from bodyfat_assets.core.scoring import score
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.landing_zone import LandingZone, read_partition_file
from bodyfat_assets.load_time import PREDICTIONS_FRESHNESS
from bodyfat_assets.metadata import table
from bodyfat_assets.partitions import SCORING_FILES
from bodyfat_assets.resources import PipelineSettings, TrackingResource

RESCORE_ON_NEW_CHAMPION = (
    AutomationCondition.any_deps_match(AutomationCondition.data_version_changed())
    & ~AutomationCondition.in_progress()
).with_label("the champion's model version changed")
"""`champion` reports its model version as its data version: a rejected challenger re-materializes `champion`
with the same version and re-scores nothing; a promotion re-scores every scoring partition. New files are scored
by the run the landing sensor requests."""


SCORING_FILE_DRIFT = "scoring_file_drift"


@asset(group_name="predictions", partitions_def=SCORING_FILES, io_manager_key="predictions_io_manager",
       automation_condition=RESCORE_ON_NEW_CHAMPION, freshness_policy=PREDICTIONS_FRESHNESS,
       check_specs=[AssetCheckSpec(SCORING_FILE_DRIFT, asset="batch_predictions",
                                   description="The scoring file's 13 features against the champion's training "
                                               "rows: KS, p-value, PSI, rows outside the training range; WARN only, "
                                               "never blocks scoring.")],
       description="Champion predictions with 90 % intervals and the model version used, one partition per scoring "
                   "file (and `seed`), at predictions/<partition>.parquet. Re-scored by Declarative Automation "
                   "when the champion's version changes.")
def batch_predictions(context: AssetExecutionContext, champion: dict[str, Any], tracking: TrackingResource,
                      pipeline: PipelineSettings, landing: LandingZone,
                      health: HealthMonitor) -> Iterator[Output[pd.DataFrame] | AssetCheckResult]:
    version = champion["champion_version"]
    if version is None:
        raise RuntimeError("no champion model has been promoted yet; nothing can score the batch")
    frame, origin = read_partition_file(context, landing, SCORE, pipeline.seed_dataset)
    rows = scoring_rows(frame, context.partition_key)
    model, card = tracking.tracker(context).load_model(str(version))
    scored = score(model, card, rows, str(version))
    predictions = pd.concat([rows[[SOURCE, ID]], scored], axis=1)[
        [SOURCE, ROW_ID, ID, *[c for c in scored.columns if c != ROW_ID]]]
    unscored = predictions[predictions["issue"] != ""]
    context.log.info(f"scored {len(predictions) - len(unscored)} rows with v{version}; {len(unscored)} not scorable")
    yield Output(predictions, metadata={
        "rows": len(predictions),
        "unscored_rows": len(unscored),
        "model_version": str(version),
        "source_file": origin["file"],
        "mean_prediction": float(predictions["prediction"].mean()) if len(unscored) < len(predictions) else 0.0,
        "unscored": table(unscored[[ROW_ID, ID, "issue"]]),
        "preview": table(predictions.head(10)),
        "interval": MetadataValue.text(f"±{card['interval_half_width_90']:.2f} percentage points (90 %)"),
    })
    drifts = assess_scoring_batch(rows, health.reference_rows(), health.thresholds())
    drifted_features = drifted(drifts)
    yield AssetCheckResult(
        check_name=SCORING_FILE_DRIFT, severity=AssetCheckSeverity.WARN, passed=not drifted_features,
        description=f"drifted: {', '.join(drifted_features) or 'nothing'}" if drifts else "no reference rows yet",
        metadata={"features": table(drift_table(drifts)), "drifted": len(drifted_features),
                  "rows_outside_training_range": sum(d.outside_training_range for d in drifts)})
