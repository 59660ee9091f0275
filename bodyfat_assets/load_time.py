"""Settings that shape the definitions themselves, read once when the code location loads: how often the sensors
look and whether they start RUNNING, and the freshness windows the Dagster UI checks. Everything else is read
through resources at run time (definitions.py)."""

from datetime import timedelta

from dagster import DefaultSensorStatus, FreshnessPolicy

from bodyfat_assets.settings import Settings

SETTINGS = Settings.from_env()
SENSOR_INTERVAL_S = SETTINGS.landing.sensor_interval_s
SENSOR_STATUS = DefaultSensorStatus.RUNNING if SETTINGS.landing.sensors_running else DefaultSensorStatus.STOPPED
CHAMPION_FRESHNESS = FreshnessPolicy.time_window(fail_window=timedelta(hours=SETTINGS.health.champion_fresh_hours))
PREDICTIONS_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=SETTINGS.health.predictions_fresh_hours))
