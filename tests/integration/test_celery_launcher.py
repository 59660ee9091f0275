"""The horizontal profile through real processes: docker/dagster.celery.yaml (QueuedRunCoordinator, CeleryRunLauncher
on the machine's Redis, run monitoring, run retries, pools) on a fresh PostgreSQL database, a real `dagster-daemon`
with the landing sensor on, and two real `dagster-celery worker` processes (one pool process each).

Eight scoring files land together: the sensor requests eight `score_batch` runs, both workers run some, all
succeed. Then the process running a ninth file's run is killed with `kill -9` (what the OOM killer does): its
worker's main process records the task as failed in Redis, run monitoring fails the run, and the instance's
run_retries starts it again on a worker; the queue drains and nothing stays STARTED.

Each session uses its own Celery queue name on Redis DB 0 (BODYFAT_TEST_REDIS_URL), so sessions never take each
other's runs. Under CI=true a missing Redis or PostgreSQL fails; elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.feed import landing_store
from bodyfat_assets.partitions import LABELED_FILES, LANDING_NAME_TAG, SCORING_FILES, SCORING_POOL
from bodyfat_assets.settings import PROJECT_ROOT, Settings
from tests.support.landing_files import write_scoring_csv
from tests.support.loop import LOOP_ENV, daemon_command, loop_home
from tests.support.pipeline_runs import run_job
from tests.support.services import (
    REDIS_URL,
    postgres_database,
    postgres_env,
    process_group,
    require_postgres,
    require_redis,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CELERY_INSTANCE_YAML = PROJECT_ROOT / "docker" / "dagster.celery.yaml"
CELERY_WORKER_YAML = PROJECT_ROOT / "docker" / "celery_worker.yaml"
WORKER_CLI = str(Path(sys.executable).parent / "dagster-celery")
WORKERS = 2
FILES = 8
POLL_S = 2
"""Run monitoring's poll here (10 s shipped): the kill-to-retry figure below is mostly this plus a start."""
RUNS_TIMEOUT_S = 240
"""Eight small scoring runs through two workers: about a minute on the shared 2-core machine; generous on purpose."""
LOOP_ENV_CELERY = {**LOOP_ENV, "BODYFAT_SCORING_BATCH_ROWS": "5000"}


def worker_command(queue: str, name: str) -> list[str]:
    # One pool process per worker, like one run per worker container; no gossip or mingle between test workers.
    return [WORKER_CLI, "worker", "start", "-A", "dagster_celery.app", "-y", str(CELERY_WORKER_YAML), "-q", queue,
            "-n", name, "--loglevel", "INFO", "--", "--concurrency=1", "--without-gossip", "--without-mingle"]


def land_scoring_file(landing, name: str, rows: int, tmp: Path) -> str:
    path = tmp / name
    write_scoring_csv(path, rows)
    data = path.read_bytes()
    landing.write_bytes(f"score/{name}", data)
    return partition_key_for(name, content_hash(data))


def landed_runs(instance: DagsterInstance, names: set[str]) -> list:
    return [run for run in instance.get_runs(RunsFilter(job_name=SCORE_JOB))
            if run.tags.get(LANDING_NAME_TAG) in names]


def step_pids(instance: DagsterInstance, run_id: str) -> set[int]:
    return {e.dagster_event.pid for e in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
            if e.dagster_event.pid}


def pool_pids(worker: psutil.Process) -> set[int]:
    """The worker's descendants: the `celery worker` main process the CLI started and its pool process."""
    return {child.pid for child in worker.children(recursive=True)}


def test_celery_workers_share_the_runs_and_a_killed_worker_process_is_failed_and_retried(tmp_path):
    require_redis()
    require_postgres()
    queue = f"bodyfat-test-{uuid.uuid4().hex[:8]}"
    timings: dict[str, float] = {}
    with ExitStack() as stack:
        database = stack.enter_context(postgres_database("celery_dagster"))
        # Shipped values but the session's own queue, a short monitoring poll and the test's worker count.
        dagster_home, env = loop_home(
            tmp_path, LOOP_ENV_CELERY, CELERY_INSTANCE_YAML,
            run_launcher={"module": "dagster_celery.launcher", "class": "CeleryRunLauncher",
                          "config": {"broker": {"env": "DAGSTER_CELERY_BROKER_URL"},
                                     "backend": {"env": "DAGSTER_CELERY_BACKEND_URL"}, "default_queue": queue}},
            run_monitoring={"poll_interval_seconds": POLL_S})
        assert yaml.safe_load(CELERY_INSTANCE_YAML.read_text())["concurrency"]["runs"]["max_concurrent_runs"] \
            == WORKERS + 1, "the shipped run limit is for two workers, like this test"
        env.update(postgres_env(database), DAGSTER_CELERY_BROKER_URL=REDIS_URL, DAGSTER_CELERY_BACKEND_URL=REDIS_URL,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        for name, value in env.items():  # this process's instance reads the same variables
            mp.setenv(name, value)
        instance = stack.enter_context(DagsterInstance.from_config(str(dagster_home)))
        # The scoring pool at the worker count (the shipped default_limit of 1 would score one file at a time).
        instance.event_log_storage.set_concurrency_slots(SCORING_POOL, WORKERS)

        # A champion first, in this process: the landing sensor scores files only once one exists.
        settings = Settings.from_env({"BODYFAT_HOME": str(tmp_path), **LOOP_ENV_CELERY})
        instance.add_dynamic_partitions(LABELED_FILES.name, ["seed"])
        instance.add_dynamic_partitions(SCORING_FILES.name, ["seed"])
        for job, partition in ((INGEST_JOB, "seed"), (PIPELINE_JOB, None)):
            assert run_job(settings, instance, job, partition).success, job

        workers = [psutil.Process(stack.enter_context(process_group(
            worker_command(queue, f"w{i}-{queue}"), env, tmp_path / f"worker{i}.log")).pid) for i in range(WORKERS)]
        daemon_log = tmp_path / "daemon.log"
        stack.enter_context(process_group(daemon_command(), env, daemon_log))
        landing = landing_store(settings)
        try:
            names = {f"batch-{i}.csv" for i in range(FILES)}
            for i, name in enumerate(sorted(names)):
                land_scoring_file(landing, name, 2_000 + i, tmp_path)  # distinct bytes: not duplicates
            started = time.monotonic()

            def all_finished() -> bool:
                runs = landed_runs(instance, names)
                return len(runs) == FILES and all(run.is_finished for run in runs)

            wait_until(all_finished, RUNS_TIMEOUT_S, f"{FILES} scoring runs through {WORKERS} Celery workers", 1.0)
            timings["eight_runs_s"] = round(time.monotonic() - started, 1)
            runs = landed_runs(instance, names)
            assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}, [(r.run_id, r.status) for r in runs]
            assert all(run.tags.get("dagster-celery/task_id") for run in runs), "every run went through Celery"
            ran_on = [next((i for i, w in enumerate(workers) if step_pids(instance, run.run_id) & pool_pids(w)), None)
                      for run in runs]
            timings["runs_per_worker"] = [ran_on.count(i) for i in range(WORKERS)]
            assert None not in ran_on, "every run's step ran in one of the two workers' processes"
            assert all(ran_on.count(i) for i in range(WORKERS)), f"both workers ran some: {ran_on}"

            # kill -9 the pool process running a run: the worker's main process marks the task FAILURE in Redis.
            slow = "slow.csv"
            land_scoring_file(landing, slow, 300_000, tmp_path)

            def running_step() -> tuple[str, int] | None:
                for run in landed_runs(instance, {slow}):
                    if run.status == DagsterRunStatus.STARTED and step_pids(instance, run.run_id):
                        return run.run_id, next(iter(step_pids(instance, run.run_id)))
                return None

            wait_until(running_step, RUNS_TIMEOUT_S, "the slow file's run inside its step", 0.2)
            run_id, pid = running_step()
            killed_worker = next(i for i, w in enumerate(workers) if pid in pool_pids(w))
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()

            def retry():
                retries = instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))
                return retries[0] if retries else None

            def retry_started() -> bool:
                run = retry()
                return run is not None and run.status not in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED,
                                                              DagsterRunStatus.STARTING)

            wait_until(lambda: instance.get_run_by_id(run_id).is_finished, 120, "the killed run to be failed", 0.2)
            timings["kill_to_run_failed_s"] = round(time.monotonic() - killed_at, 1)
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
            wait_until(retry_started, 120, "the run retry to start", 0.2)
            timings["kill_to_retry_started_s"] = round(time.monotonic() - killed_at, 1)
            wait_until(lambda: retry().is_finished, RUNS_TIMEOUT_S, "the retry to finish", 1.0)
            assert retry().status == DagsterRunStatus.SUCCESS
            assert retry().tags["dagster/retry_number"] == "1"
            retried_on = next((i for i, w in enumerate(workers) if step_pids(instance, retry().run_id) & pool_pids(w)),
                              None)
            timings["killed_worker"], timings["retried_on_worker"] = killed_worker, retried_on
            assert retried_on is not None, "the retry ran in a worker's (new) pool process"

            wait_until(lambda: not instance.get_runs(RunsFilter(statuses=[
                DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                DagsterRunStatus.STARTED])), 120, "the run queue to drain", 1.0)
        finally:
            print(f"\nCelery profile ({WORKERS} workers, monitoring poll {POLL_S} s): {json.dumps(timings)}")
            if "kill_to_retry_started_s" not in timings:
                for log in (daemon_log, *(tmp_path / f"worker{i}.log" for i in range(WORKERS))):
                    print(f"--- {log.name}\n{log.read_text()[-5000:] if log.exists() else ''}")
