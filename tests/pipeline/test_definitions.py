"""What the definitions take from the configuration model when the code location loads (a fresh process each,
since load-time settings are read once)."""

import json
import os
import subprocess
import sys

PROBE = """
import json
from dagster import AssetKey
from bodyfat_assets.definitions import defs
d = defs()
graph = d.resolve_asset_graph()
fresh = {k: graph.get(AssetKey(k)).freshness_policy.fail_window.to_timedelta().total_seconds() / 3600
         for k in ("champion", "batch_predictions")}
sensors = {s.name: [s.minimum_interval_seconds, s.default_status.value] for s in d.sensors}
print(json.dumps({"fresh": fresh, "sensors": sensors}))
"""


def load(tmp_path, **env: str) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "BODYFAT_HOME": str(tmp_path), **env}, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_freshness_windows_and_sensor_settings_come_from_the_configuration_model(tmp_path):
    loaded = load(tmp_path, BODYFAT_CHAMPION_FRESH_HOURS="5", BODYFAT_PREDICTIONS_FRESH_HOURS="2.5",
                  BODYFAT_SENSOR_INTERVAL_S="7", BODYFAT_SENSORS="stopped")
    assert loaded["fresh"] == {"champion": 5.0, "batch_predictions": 2.5}
    assert set(loaded["sensors"]) == {"landing_sensor", "retrain_sensor", "declarative_automation"}
    assert all(value == [7, "STOPPED"] for value in loaded["sensors"].values())
    defaults = load(tmp_path)
    assert defaults["fresh"] == {"champion": 168.0, "batch_predictions": 48.0}
    assert all(status == "RUNNING" for _, status in defaults["sensors"].values()), "embedded default"
