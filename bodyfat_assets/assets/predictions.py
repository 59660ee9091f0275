"""batch_predictions: the champion scores the scoring table (for now the seed rows, without their target)."""


from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, MetadataValue, Output, asset

from bodyfat_assets.core.schema import FEATURE_NAMES, ROW_ID
from bodyfat_assets.core.scoring import score
from bodyfat_assets.metadata import markdown_table
from bodyfat_assets.resources import TrackingResource


@asset(group_name="predictions", description="Champion predictions with 90 % intervals and the model version used.")
def batch_predictions(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame, champion: dict[str, Any],
                      tracking: TrackingResource) -> Output[pd.DataFrame]:
    version = champion["champion_version"]
    if version is None:
        raise RuntimeError("no champion model has been promoted yet; nothing can score the batch")
    model, card = tracking.tracker(context).load_model(str(version))
    scoring_rows = raw_bodyfat[[ROW_ID, *FEATURE_NAMES]]
    predictions = score(model, card, scoring_rows, str(version))
    unscored = predictions[predictions["issue"] != ""]
    context.log.info(f"scored {len(predictions) - len(unscored)} rows with v{version}; {len(unscored)} not scorable")
    return Output(predictions, metadata={
        "rows": len(predictions),
        "unscored_rows": len(unscored),
        "model_version": str(version),
        "mean_prediction": float(predictions["prediction"].mean()),
        "unscored": markdown_table(unscored[[ROW_ID, "issue"]]),
        "preview": markdown_table(predictions.head(10)),
        "interval": MetadataValue.text(f"±{card['interval_half_width_90']:.2f} percentage points (90 %)"),
    })
