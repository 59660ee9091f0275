"""Declarative Automation: the sensor that evaluates batch_predictions' and model_health's conditions."""

from dagster import AssetSelection, AutomationConditionSensorDefinition

from bodyfat_assets.asset_keys import BATCH_PREDICTIONS, MODEL_HEALTH
from bodyfat_assets.defs.predictions.assets import AUTOMATION_RUN_TAGS
from bodyfat_assets.load_time import sensor_cadence
from bodyfat_assets.settings import LandingSettings


def automation_sensor(settings: LandingSettings) -> AutomationConditionSensorDefinition:
    """At the cadence `settings` gives, as the landing sensors (build_definitions adds it)."""
    return AutomationConditionSensorDefinition(
        "declarative_automation", target=AssetSelection.assets(BATCH_PREDICTIONS, MODEL_HEALTH),
        **sensor_cadence(settings), emit_backfills=False,  # one visible run per partition
        run_tags=AUTOMATION_RUN_TAGS,
        description="Evaluates the automation conditions: re-score every scoring partition when the champion's "
                    "model version changes; refresh model_health when a labeled file has been measured.")
