"""Declarative Automation: the sensor that evaluates batch_predictions' and model_health's conditions."""

from dagster import AssetSelection, AutomationConditionSensorDefinition

from bodyfat_assets.asset_keys import BATCH_PREDICTIONS, MODEL_HEALTH
from bodyfat_assets.load_time import SENSOR_INTERVAL_S, SENSOR_STATUS

declarative_automation = AutomationConditionSensorDefinition(
    "declarative_automation", target=AssetSelection.assets(BATCH_PREDICTIONS, MODEL_HEALTH),
    default_status=SENSOR_STATUS,
    minimum_interval_seconds=SENSOR_INTERVAL_S, emit_backfills=False,  # one visible run per partition
    description="Evaluates the automation conditions: re-score every scoring partition when the champion's model "
                "version changes; refresh model_health when a labeled file has been measured.")
