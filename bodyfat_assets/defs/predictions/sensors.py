"""Declarative Automation for the predictions: the sensor that evaluates `batch_predictions`' condition."""

from dagster import AssetSelection, AutomationConditionSensorDefinition

from bodyfat_assets.defs.landing.sensors import DEFAULT_STATUS, LANDING

rescore_automation = AutomationConditionSensorDefinition(
    "rescore_automation", target=AssetSelection.assets("batch_predictions"), default_status=DEFAULT_STATUS,
    minimum_interval_seconds=LANDING.sensor_interval_s, emit_backfills=False,  # one visible run per partition
    description="Evaluates batch_predictions' automation condition: re-score every scoring partition when the "
                "champion's model version changes.")
