"""The landing loop through real processes: `dagster-daemon run` (sensors, run queue, code server, run workers) on a
temporary DAGSTER_HOME and BODYFAT_HOME with tiny budgets and a 2 s sensor interval, and what a test reads of it
(decisions, runs, sensor ticks)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import yaml
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.scheduler.instigation import InstigatorType, TickStatus
from dagster._grpc.client import DagsterGrpcClient

from bodyfat_assets.feed import landing_store
from bodyfat_assets.lake import store_from_url
from bodyfat_assets.settings import PROJECT_ROOT, Settings
from bodyfat_assets.testing.services import free_port, process_group, wait_until

LOOP_ENV = {"BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "ridge,knn",
            "BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "2", "BODYFAT_RETRAIN_MIN_ROWS": "1",
            "BODYFAT_RETRAIN_MIN_INTERVAL_S": "0", "OMP_NUM_THREADS": "1"}
DAEMON = str(Path(sys.executable).parent / "dagster-daemon")
DAGSTER = str(Path(sys.executable).parent / "dagster")
GRPC_WORKSPACE = PROJECT_ROOT / "docker" / "workspace.docker.yaml"
"""The workspace compose's daemon reads: one code location, the gRPC server at DAGSTER_GRPC_HOST:DAGSTER_GRPC_PORT."""
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


@dataclass(frozen=True)
class DagsterProcesses:
    """The code server and the daemon of one loop, each in its own process group (run workers are the code
    server's children, in its group)."""

    code_server: Popen
    daemon: Popen

    def kill(self) -> None:
        """SIGKILL both groups at once, as a machine losing them would."""
        for proc in (self.daemon, self.code_server):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)


def _serving(port: int) -> bool:
    try:  # health_check_query prints every refused connection: ask only once the port accepts one
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return DagsterGrpcClient(port=port, host="127.0.0.1").health_check_query() == "SERVING"


@contextmanager
def dagster_processes(env: Mapping[str, str], log: Path) -> Iterator[DagsterProcesses]:
    """The project's code server, then `dagster-daemon run` on the workspace that names it, as compose runs them.
    Not `dagster-daemon run -m`: that daemon runs a code server of its own and replaces it every 60 s
    (RELOAD_WORKSPACE_INTERVAL in dagster/_daemon/controller.py), importing the definitions again each time."""
    port = free_port()
    env = {**env, "DAGSTER_GRPC_HOST": "127.0.0.1", "DAGSTER_GRPC_PORT": str(port)}
    code_command = [DAGSTER, "api", "grpc", "-m", "bodyfat_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
    with process_group(code_command, env, log) as code_server:
        wait_until(lambda: code_server.poll() is None and _serving(port), STEP_TIMEOUT_S,
                   f"the code server on port {port} (see {log})", interval_s=1.0)
        with process_group([DAEMON, "run", "-w", str(GRPC_WORKSPACE)], env, log) as daemon:
            yield DagsterProcesses(code_server, daemon)


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
def daemon_loop(home: Path, loop_env: Mapping[str, str] = LOOP_ENV) -> Iterator[tuple[DaemonLoop, Popen]]:
    """Start the code server and daemon on `home` with `loop_env`; yield the loop and the daemon process (both
    stopped on exit)."""
    dagster_home, env = loop_home(home, loop_env)
    # The instance first: it creates the SQLite schema, which the daemon starting at the same moment raced to create
    # ("table instance_info already exists", seen once in five runs on a loaded machine).
    with DagsterInstance.from_config(str(dagster_home)) as instance, \
            dagster_processes(env, home / "daemon.log") as processes:
        yield DaemonLoop(home, loop_env, instance), processes.daemon
