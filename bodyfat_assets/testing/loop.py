"""The landing loop through real processes: `dagster-daemon run` (sensors, run queue, code server, run workers) on a
temporary DAGSTER_HOME and BODYFAT_HOME with tiny budgets and a 2 s sensor interval, and what a test reads of it
(decisions, runs, sensor ticks)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from bodyfat_assets.feed import landing_store
from bodyfat_assets.lake import store_from_url
from bodyfat_assets.settings import PROJECT_ROOT, Settings
from bodyfat_assets.testing.services import process_group, wait_until

LOOP_ENV = {"BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "ridge,knn",
            "BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "2", "BODYFAT_RETRAIN_MIN_ROWS": "1",
            "BODYFAT_RETRAIN_MIN_INTERVAL_S": "0", "OMP_NUM_THREADS": "1"}
DAEMON = str(Path(sys.executable).parent / "dagster-daemon")
BOOTSTRAP_TIMEOUT_S = 900
"""Seed ingest, first training, seed scoring: queued runs, each a fresh process importing the ML stack. Generous on
purpose: at a load average of 16 on two cores a queued run took 60–106 s just to start (2026-11-23); a
wait ends as soon as its condition holds, so the bound costs nothing when the machine is quiet."""
STEP_TIMEOUT_S = 600
"""One file's way through the loop (ingest, retrain or score): a few queued runs; generous for the same reason."""


def loop_home(home: Path, loop_env: Mapping[str, str] = LOOP_ENV, instance_yaml: Path = PROJECT_ROOT / "dagster.yaml",
              **instance_overrides: dict[str, Any]) -> tuple[Path, dict[str, str]]:
    """DAGSTER_HOME under `home` with `instance_yaml` (the project's embedded dagster.yaml by default; sections
    replaced by `instance_overrides`, e.g. a short run_monitoring bound), and the environment of the daemon."""
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    if instance_overrides:
        config = yaml.safe_load(instance_yaml.read_text())
        for section, values in instance_overrides.items():
            config[section] = {**config.get(section, {}), **values}
        (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    else:
        shutil.copy(instance_yaml, dagster_home / "dagster.yaml")
    env = {**os.environ, **loop_env, "BODYFAT_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
           "BODYFAT_ENV": "embedded"}
    return dagster_home, env


def daemon_command() -> list[str]:
    return [DAEMON, "run", "-m", "bodyfat_assets.definitions"]


class DaemonLoop:
    def __init__(self, home: Path, loop_env: Mapping[str, str], instance: DagsterInstance) -> None:
        self.home = home
        self.settings = Settings.from_env({"BODYFAT_HOME": str(home), **loop_env})
        self.landing = landing_store(self.settings)
        self.lake = store_from_url(self.settings.lake_url)
        self.instance = instance
        self.timings: dict[str, float] = {}

    def champion_decisions(self) -> list[dict]:
        """Newest first: the metadata of every `champion` materialization."""
        records = self.instance.fetch_materializations(AssetKey("champion"), limit=100).records
        return [{k: getattr(v, "value", v) for k, v in r.asset_materialization.metadata.items()} for r in records]

    def failed_runs(self) -> list[str]:
        return [f"{r.job_name}:{r.run_id}" for r in
                self.instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))]

    def sensor_ticks(self, sensor_name: str, after: float) -> list:
        """The sensor's finished ticks (skipped or requesting runs) since `after` (epoch seconds)."""
        states = [s for s in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
                  if s.name == sensor_name]
        return [tick for state in states
                for tick in self.instance.get_ticks(state.instigator_origin_id, state.selector_id, after=after)
                if tick.status in (TickStatus.SKIPPED, TickStatus.SUCCESS)]

    def wait(self, predicate: Callable[[], object], timeout_s: float, what: str) -> float:
        """Wait for `predicate`, failing at once if any run fails meanwhile; return the seconds waited."""
        started = time.monotonic()

        def check() -> bool:
            failed = self.failed_runs()
            assert not failed, f"runs failed while waiting for {what}: {failed}"
            return bool(predicate())

        wait_until(check, timeout_s, what, interval_s=1.0)
        return time.monotonic() - started


@contextmanager
def daemon_loop(home: Path, loop_env: Mapping[str, str] = LOOP_ENV) -> Iterator[tuple[DaemonLoop, object]]:
    """Start the daemon on `home` with `loop_env`; yield the loop and the daemon process (stopped on exit)."""
    dagster_home, env = loop_home(home, loop_env)
    # The instance first: it creates the SQLite schema, which the daemon starting at the same moment raced to create
    # ("table instance_info already exists", seen once in five runs on a loaded machine).
    with DagsterInstance.from_config(str(dagster_home)) as instance, \
            process_group(daemon_command(), env, home / "daemon.log") as proc:
        yield DaemonLoop(home, loop_env, instance), proc
