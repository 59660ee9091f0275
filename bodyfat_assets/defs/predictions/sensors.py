"""Declarative Automation: the sensor that evaluates batch_predictions' and model_health's conditions."""

from dagster import AssetSelection, AutomationConditionSensorDefinition

from bodyfat_assets.defs.landing.sensors import DEFAULT_STATUS, LANDING

declarative_automation = AutomationConditionSensorDefinition(
    "declarative_automation", target=AssetSelection.assets("batch_predictions", "model_health"),
    default_status=DEFAULT_STATUS,
    minimum_interval_seconds=LANDING.sensor_interval_s, emit_backfills=False,  # one visible run per partition
    description="Evaluates the automation conditions: re-score every scoring partition when the champion's model "
                "version changes; refresh model_health when a labeled file has been measured.")
