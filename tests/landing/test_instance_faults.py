"""Both instance configurations turn on run monitoring with a runtime bound and bounded run
retries, and Dagster accepts them (the production one with its `env:` references resolved)."""

import shutil

import yaml
from dagster import DagsterInstance
from dagster._config import process_config
from dagster._core.instance.config import dagster_instance_config, dagster_instance_config_schema

from bodyfat_assets.settings import PROJECT_ROOT

EMBEDDED = PROJECT_ROOT / "dagster.yaml"
PRODUCTION = PROJECT_ROOT / "docker" / "dagster.yaml"
DEMO_RETRAIN_S = 39.7
"""The demo's retraining run (50 trials), measured on the shared 2-core machine: the runtime bound must clear it."""


def test_the_embedded_instance_monitors_runs_and_retries_dead_workers(tmp_path):
    shutil.copy(EMBEDDED, tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_runtime_seconds >= 10 * DEMO_RETRAIN_S
        assert instance.run_monitoring_max_resume_run_attempts == 0, "the DefaultRunLauncher cannot resume"
        assert not instance.run_launcher.supports_check_run_worker_health, "why max_runtime_seconds is needed"
        assert instance.run_retries_enabled and 0 < instance.run_retries_max_retries <= 3
        assert not instance.run_retries_retry_on_asset_or_op_failure, "step errors are retried by the RetryPolicy"


def test_the_production_instance_validates_and_agrees_on_faults(tmp_path, monkeypatch):
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_HOST", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("POSTGRES_PORT", "5432")
    shutil.copy(PRODUCTION, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))
    resolved = process_config(dagster_instance_config_schema(), config)
    assert resolved.success, resolved.errors
    production, embedded = (yaml.safe_load(path.read_text()) for path in (PRODUCTION, EMBEDDED))
    assert production["run_retries"] == embedded["run_retries"]
    assert production["run_monitoring"]["enabled"] is True
    assert production["run_monitoring"]["max_runtime_seconds"] >= embedded["run_monitoring"]["max_runtime_seconds"]
