"""The landing loop through real processes: its environment (tiny budgets, a 2 s sensor interval) and the
`dagster-daemon` it runs under, on a temporary DAGSTER_HOME and BODYFAT_HOME."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from bodyfat_assets.settings import PROJECT_ROOT

LOOP_ENV = {"BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "ridge,knn",
            "BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "2", "BODYFAT_RETRAIN_MIN_ROWS": "1",
            "BODYFAT_RETRAIN_MIN_INTERVAL_S": "0", "OMP_NUM_THREADS": "1"}
DAEMON = str(Path(sys.executable).parent / "dagster-daemon")


def loop_home(home: Path, **instance_overrides: dict[str, Any]) -> tuple[Path, dict[str, str]]:
    """DAGSTER_HOME under `home` with the project's embedded dagster.yaml (sections replaced by
    `instance_overrides`, e.g. a short run_monitoring bound), and the environment of the daemon."""
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    if instance_overrides:
        config = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
        for section, values in instance_overrides.items():
            config[section] = {**config.get(section, {}), **values}
        (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    else:
        shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, **LOOP_ENV, "BODYFAT_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
           "BODYFAT_ENV": "embedded"}
    return dagster_home, env


def daemon_command() -> list[str]:
    return [DAEMON, "run", "-m", "bodyfat_assets.definitions"]
