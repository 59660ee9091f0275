"""The Celery profile (docker/dagster.celery.yaml) as local processes, for tests and bench/scale_out.py: a fresh
PostgreSQL database, a champion trained in this process, N real `dagster-celery worker` processes (one pool process
each) on the machine's Redis with a queue of the session's own, and a real `dagster-daemon` with the sensors on."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.feed import landing_store
from bodyfat_assets.lake import ObjectStore
from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES, SCORING_POOL, landed_files
from bodyfat_assets.pools import initialize_pool_limits
from bodyfat_assets.settings import PROJECT_ROOT, Settings
from bodyfat_assets.testing.landing_files import write_scoring_csv
from bodyfat_assets.testing.loop import LOOP_ENV, dagster_processes, loop_home
from bodyfat_assets.testing.pipeline_runs import run_job
from bodyfat_assets.testing.services import REDIS_URL, postgres_database, postgres_env, process_group

CELERY_INSTANCE_YAML = PROJECT_ROOT / "docker" / "dagster.celery.yaml"
CELERY_WORKER_YAML = PROJECT_ROOT / "docker" / "celery_worker.yaml"
WORKER_CLI = str(Path(sys.executable).parent / "dagster-celery")
CELERY_LOOP_ENV = {**LOOP_ENV, "BODYFAT_SCORING_BATCH_ROWS": "5000"}
SHIPPED_LAUNCHER = yaml.safe_load(CELERY_INSTANCE_YAML.read_text())["run_launcher"]


def worker_command(queue: str, name: str) -> list[str]:
    # One pool process per worker, like one run per worker container; no gossip or mingle between these workers.
    return [WORKER_CLI, "worker", "start", "-A", "dagster_celery.app", "-y", str(CELERY_WORKER_YAML), "-q", queue,
            "-n", name, "--loglevel", "INFO", "--", "--concurrency=1", "--without-gossip", "--without-mingle"]


@dataclass
class CeleryProfile:
    home: Path
    instance: DagsterInstance
    landing: ObjectStore
    workers: list[psutil.Process]
    logs: list[Path]

    def land_scoring_file(self, name: str, rows: int) -> str:
        """A scoring CSV of `rows` rows in landing/score/ (the generator's bytes depend on `rows` only)."""
        path = self.home / name
        write_scoring_csv(path, rows)
        data = path.read_bytes()
        self.landing.write_bytes(f"score/{name}", data)
        return partition_key_for(name, content_hash(data))

    def scoring_runs(self, names: set[str]) -> list:
        return [run for run in self.instance.get_runs(RunsFilter(job_name=SCORE_JOB))
                if set(landed_files(run.tags).values()) & names]

    def step_pids(self, run_id: str) -> set[int]:
        return {e.dagster_event.pid for e in self.instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
                if e.dagster_event.pid}

    def worker_of(self, run_id: str) -> int | None:
        """The index of the worker whose process ran the run's steps (its main process's pool process)."""
        pids = self.step_pids(run_id)
        return next((i for i, worker in enumerate(self.workers)
                     if pids & {child.pid for child in _children(worker)}), None)


def _children(worker: psutil.Process) -> list[psutil.Process]:
    try:
        return worker.children(recursive=True)
    except psutil.NoSuchProcess:  # a worker the test killed whole
        return []


@contextmanager
def celery_profile(home: Path, workers: int, instance_overrides: Mapping[str, dict] | None = None,
                   loop_env: Mapping[str, str] = CELERY_LOOP_ENV) -> Iterator[CeleryProfile]:
    """The shipped instance yaml with the session's own queue and the run limit for `workers` workers (plus
    `instance_overrides`); the scoring pool at `workers`. Everything is stopped and dropped on exit."""
    queue = f"bodyfat-test-{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        database = stack.enter_context(postgres_database("celery_dagster"))
        dagster_home, env = loop_home(
            home, loop_env, CELERY_INSTANCE_YAML,
            run_launcher={**SHIPPED_LAUNCHER,
                          "config": {**SHIPPED_LAUNCHER["config"], "default_queue": queue}},
            concurrency={"pools": {"granularity": "run", "default_limit": 1},
                         "runs": {"max_concurrent_runs": workers + 1}},
            **(instance_overrides or {}))
        env.update(postgres_env(database), DAGSTER_CELERY_BROKER_URL=REDIS_URL, DAGSTER_CELERY_BACKEND_URL=REDIS_URL,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        for name, value in env.items():  # this process's instance reads the same variables
            mp.setenv(name, value)
        instance = stack.enter_context(DagsterInstance.from_config(str(dagster_home)))
        # The scoring pool at the worker count (the shipped default_limit of 1 would score one file at a time).
        instance.event_log_storage.set_concurrency_slots(SCORING_POOL, workers)
        initialize_pool_limits(instance)  # the tuning pool, as the shipped daemon command does before it starts

        # A champion first, in this process: the landing sensor scores files only once one exists.
        settings = Settings.from_env({"BODYFAT_HOME": str(home), **loop_env})
        instance.add_dynamic_partitions(LABELED_FILES.name, ["seed"])
        instance.add_dynamic_partitions(SCORING_FILES.name, ["seed"])
        for job, partition in ((INGEST_JOB, "seed"), (PIPELINE_JOB, None)):
            assert run_job(settings, instance, job, partition).success, job

        logs = [home / f"worker{i}.log" for i in range(workers)] + [home / "daemon.log"]
        processes = [psutil.Process(stack.enter_context(process_group(
            worker_command(queue, f"w{i}-{queue}"), env, logs[i])).pid) for i in range(workers)]
        stack.enter_context(dagster_processes(env, logs[-1]))
        yield CeleryProfile(home, instance, landing_store(settings), processes, logs)
