"""What the definitions take from the configuration model when the code location loads (a fresh process each,
since load-time settings are read once)."""

import json
import os
import subprocess
import sys

PROBE = """
import json
import sys
from dagster import AssetKey
from bodyfat_assets.definitions import defs
d = defs()
graph = d.resolve_asset_graph()
fresh = {k: graph.get(AssetKey(k)).freshness_policy.fail_window.to_timedelta().total_seconds() / 3600
         for k in ("champion", "batch_predictions")}
sensors = {s.name: [s.minimum_interval_seconds, s.default_status.value] for s in d.sensors}
heavy = sorted(m for m in ("mlflow", "skops", "optuna", "matplotlib") if m in sys.modules)
print(json.dumps({"fresh": fresh, "sensors": sensors, "heavy": heavy}))
"""


def load(tmp_path, **env: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "BODYFAT_HOME": str(tmp_path), **env}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_loading_the_definitions_imports_no_tuning_registry_or_plotting_library(tmp_path):
    """Every run worker (and, in production, every step) loads the definitions: mlflow, skops, optuna and matplotlib
    are imported by the assets that tune, promote, score or draw, when they run, not by an ingestion run."""
    assert load(tmp_path)["heavy"] == []


def test_freshness_windows_and_sensor_settings_come_from_the_configuration_model(tmp_path):
    loaded = load(tmp_path, BODYFAT_CHAMPION_FRESH_HOURS="5", BODYFAT_PREDICTIONS_FRESH_HOURS="2.5",
                  BODYFAT_SENSOR_INTERVAL_S="7", BODYFAT_SENSORS="stopped")
    assert loaded["fresh"] == {"champion": 5.0, "batch_predictions": 2.5}
    assert set(loaded["sensors"]) == {"landing_sensor", "retrain_sensor", "declarative_automation"}
    assert all(value == [7, "STOPPED"] for value in loaded["sensors"].values())
    defaults = load(tmp_path)
    assert defaults["fresh"] == {"champion": 168.0, "batch_predictions": 48.0}
    assert all(status == "RUNNING" for _, status in defaults["sensors"].values()), "embedded default"


def test_tuning_and_scoring_carry_their_pools_and_every_instance_yaml_limits_them(tmp_path, monkeypatch):
    """tuned_model and batch_predictions are in their pools; the embedded, compose and Celery instance yamls pass
    Dagster's own validation and hold runs in the queue for pool slots (default limit 1: one tuning at a time)."""
    import shutil

    import yaml
    from dagster import AssetKey, DagsterInstance
    from dagster._core.instance.config import PoolGranularity

    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.partitions import SCORING_POOL, TUNING_POOL
    from bodyfat_assets.settings import PROJECT_ROOT, Settings

    graph = build_definitions(Settings.from_env({"BODYFAT_HOME": str(tmp_path)})).resolve_asset_graph()
    assert graph.get(AssetKey("tuned_model")).pools == {TUNING_POOL}
    assert graph.get(AssetKey("batch_predictions")).pools == {SCORING_POOL}
    for variable in ("DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL"):  # never connected to here
        monkeypatch.setenv(variable, "redis://127.0.0.1:6379/0")
    for name in ("dagster.yaml", "docker/dagster.yaml", "docker/dagster.celery.yaml"):
        home = tmp_path / name.replace("/", "_")
        home.mkdir()
        config = yaml.safe_load((PROJECT_ROOT / name).read_text())
        config.pop("storage", None)  # validated here without its PostgreSQL: SQLite under `home`
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        with DagsterInstance.from_config(str(home)) as instance:
            pools = instance.get_concurrency_config().pool_config
            assert (pools.pool_granularity, pools.default_pool_limit) == (PoolGranularity.RUN, 1), name
            assert instance.run_coordinator.get_run_queue_config().should_block_op_concurrency_limited_runs, name
        shutil.rmtree(home)
