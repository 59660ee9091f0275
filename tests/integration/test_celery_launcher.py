"""The horizontal profile through real processes: docker/dagster.celery.yaml (QueuedRunCoordinator, CeleryRunLauncher
on the machine's Redis, run monitoring, run retries, pools) on a fresh PostgreSQL database, a real `dagster-daemon`
with the landing sensor on, and two real `dagster-celery worker` processes (one pool process each).

Eight scoring files land together: the sensor requests eight `score_batch` runs, both workers run some, all
succeed. Then the pool process running a ninth file's run is killed with `kill -9` (what the OOM killer does): its
worker's main process records the task as FAILURE in Redis, run monitoring fails the run, and the instance's
run_retries starts it again on whichever worker is free; the queue drains and nothing stays STARTED.

Each session uses its own Celery queue (tests/support/celery_profile.py), so sessions never take each other's runs.
Under CI=true a missing Redis or PostgreSQL fails; elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import yaml
from dagster import DagsterRunStatus, RunsFilter

from tests.support.celery_profile import CELERY_INSTANCE_YAML, celery_profile
from tests.support.services import require_postgres, require_redis, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WORKERS = 2
FILES = 8
POLL_S = 2
"""Run monitoring's poll here (10 s shipped): kill-to-failed is about this plus a Redis round trip."""
RUNS_TIMEOUT_S = 240
"""Eight small scoring runs through two workers took 55 s on the shared 2-core machine; generous on purpose."""
UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]


def test_the_shipped_run_limit_is_for_two_workers():
    config = yaml.safe_load(CELERY_INSTANCE_YAML.read_text())
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == WORKERS + 1


def test_celery_workers_share_the_runs_and_a_killed_worker_process_is_failed_and_retried(tmp_path):
    require_redis()
    require_postgres()
    timings: dict[str, object] = {}
    with celery_profile(tmp_path, WORKERS, {"run_monitoring": {"poll_interval_seconds": POLL_S}}) as profile:
        instance = profile.instance
        try:
            names = {f"batch-{i}.csv" for i in range(FILES)}
            for i, name in enumerate(sorted(names)):
                profile.land_scoring_file(name, 2_000 + i)  # distinct bytes: not duplicates
            started = time.monotonic()

            def all_finished() -> bool:
                runs = profile.scoring_runs(names)
                return len(runs) == FILES and all(run.is_finished for run in runs)

            wait_until(all_finished, RUNS_TIMEOUT_S, f"{FILES} scoring runs through {WORKERS} Celery workers", 1.0)
            timings["eight_runs_s"] = round(time.monotonic() - started, 1)
            runs = profile.scoring_runs(names)
            assert {run.status for run in runs} == {DagsterRunStatus.SUCCESS}, [(r.run_id, r.status) for r in runs]
            assert all(run.tags.get("dagster-celery/task_id") for run in runs), "every run went through Celery"
            ran_on = [profile.worker_of(run.run_id) for run in runs]
            timings["runs_per_worker"] = [ran_on.count(i) for i in range(WORKERS)]
            assert None not in ran_on, f"every run's step ran in a worker's pool process: {ran_on}"
            assert all(ran_on.count(i) for i in range(WORKERS)), f"both workers ran some: {ran_on}"

            slow = "slow.csv"
            profile.land_scoring_file(slow, 300_000)

            def running_step() -> tuple[str, int] | None:
                for run in profile.scoring_runs({slow}):
                    pids = profile.step_pids(run.run_id)
                    if run.status == DagsterRunStatus.STARTED and pids:
                        return run.run_id, next(iter(pids))
                return None

            wait_until(running_step, RUNS_TIMEOUT_S, "the slow file's run inside its step", 0.2)
            run_id, pid = running_step()
            timings["killed_worker"] = profile.worker_of(run_id)
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()

            def retry():
                retries = instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))
                return retries[0] if retries else None

            wait_until(lambda: instance.get_run_by_id(run_id).is_finished, 120, "the killed run to be failed", 0.2)
            timings["kill_to_run_failed_s"] = round(time.monotonic() - killed_at, 1)
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
            wait_until(lambda: retry() is not None and retry().status not in UNFINISHED[:3], 120,
                       "the run retry to start", 0.2)
            timings["kill_to_retry_started_s"] = round(time.monotonic() - killed_at, 1)
            wait_until(lambda: retry().is_finished, RUNS_TIMEOUT_S, "the retry to finish", 1.0)
            assert retry().status == DagsterRunStatus.SUCCESS
            assert retry().tags["dagster/retry_number"] == "1"
            timings["retried_on_worker"] = profile.worker_of(retry().run_id)
            assert timings["retried_on_worker"] is not None, "the retry ran in a worker's (new) pool process"

            wait_until(lambda: not instance.get_runs(RunsFilter(statuses=UNFINISHED)), 120, "the queue to drain", 1.0)
        finally:
            print(f"\nCelery profile ({WORKERS} workers, monitoring poll {POLL_S} s): {json.dumps(timings)}")
            if "retried_on_worker" not in timings:
                for log in profile.logs:
                    print(f"--- {log.name}\n{log.read_text()[-5000:] if log.exists() else ''}")
