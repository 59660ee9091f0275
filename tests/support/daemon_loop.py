"""The landing loop through real processes: `dagster-daemon run` (sensors, run queue, code server, run workers) on a
temporary DAGSTER_HOME and BODYFAT_HOME, and what a test reads of it (decisions, runs, sensor ticks).

(tests/landing/test_loop_e2e.py has its own copy of this fixture from before this module; it can use this one.)"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from bodyfat_assets.feed import landing_store
from bodyfat_assets.lake import store_from_url
from bodyfat_assets.settings import PROJECT_ROOT, Settings
from tests.support.services import process_group, wait_until


class DaemonLoop:
    def __init__(self, home: Path, env: dict[str, str], instance: DagsterInstance) -> None:
        self.home = home
        self.settings = Settings.from_env({"BODYFAT_HOME": str(home), **env})
        self.landing = landing_store(self.settings)
        self.lake = store_from_url(self.settings.lake_url)
        self.instance = instance

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
def daemon_loop(home: Path, env: dict[str, str]) -> Iterator[tuple[DaemonLoop, object]]:
    """Start the daemon on `home` with `env`; yield the loop and the daemon process (stopped on exit)."""
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    process_env = {**os.environ, **env, "BODYFAT_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
                   "BODYFAT_ENV": "embedded"}
    daemon = str(Path(sys.executable).parent / "dagster-daemon")
    # The instance first: it creates the SQLite schema, which the daemon starting at the same moment raced to create
    # ("table instance_info already exists", seen once in five runs on a loaded machine).
    with DagsterInstance.from_config(str(dagster_home)) as instance, \
            process_group([daemon, "run", "-m", "bodyfat_assets.definitions"], process_env,
                          home / "daemon.log") as proc:
        yield DaemonLoop(home, env, instance), proc
