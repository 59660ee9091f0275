"""The horizontal profile through real processes: docker/dagster.celery.yaml (QueuedRunCoordinator, the Celery run
launcher on the machine's Redis, run monitoring, run retries, pools) on a fresh PostgreSQL database, a real
`dagster-daemon` with the landing sensor on, and two real `dagster-celery worker` processes (one pool process each).

Two retraining runs are launched together (`dagster job launch`, twice): both succeed, and their `tuned_model` steps
never overlap (the `tuning` pool's limit of 1; with two free workers they would otherwise run side by side).
Eight scoring files land together: the sensor requests eight `score_batch` runs, both workers run some, all
succeed. Then the pool process running a ninth file's run is killed with `kill -9` (what the OOM killer does): its
worker's main process records the task as FAILURE in Redis, run monitoring fails the run, and the instance's
run_retries starts it again on whichever worker is free. Last, a whole worker (main and pool process: a lost
container or host) is killed with `kill -9` while it runs a tenth file's run: its task stays STARTED in Redis, the
launcher's worker check finds nobody holding it, the run is failed and its retry runs on the other worker. The queue
drains and nothing stays STARTED.

Each session uses its own Celery queue (bodyfat_assets/testing/celery_profile.py), so sessions never take each
other's runs.
Under CI=true a missing Redis or PostgreSQL fails; elsewhere the test skips.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.launcher import WorkerStatus
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

from bodyfat_assets.celery_launcher import WorkerCheckingCeleryRunLauncher
from bodyfat_assets.defs.jobs import PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.testing.celery_profile import CELERY_INSTANCE_YAML, CeleryProfile, celery_profile
from bodyfat_assets.testing.services import REDIS_URL, require_postgres, require_redis, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

WORKERS = 2
FILES = 8
POLL_S = 2
"""Run monitoring's poll here (10 s shipped): kill-to-failed is about this plus a Redis round trip."""
RUNS_TIMEOUT_S = 240
"""Eight small scoring runs through two workers took 55 s on the shared 2-core machine; generous on purpose."""
RETRAINS = 2
TUNING_STEP = "tuned_model"
STEP_ENDS = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
DAGSTER_CLI = str(Path(sys.executable).parent / "dagster")
UNFINISHED = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
              DagsterRunStatus.STARTED]


def idle_for(instance, seconds: float) -> Callable[[], bool]:
    """A condition true once no run has been queued or in progress for `seconds` in a row."""
    quiet_since = [time.monotonic()]

    def idle() -> bool:
        if instance.get_runs(RunsFilter(statuses=UNFINISHED)):
            quiet_since[0] = time.monotonic()
        return time.monotonic() - quiet_since[0] >= seconds

    return idle



def test_the_shipped_run_limit_is_for_two_workers():
    config = yaml.safe_load(CELERY_INSTANCE_YAML.read_text())
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == WORKERS + 1


def tuning_interval(profile: CeleryProfile, run_id: str) -> tuple[float, float]:
    """When the run's tuning step first started and last ended (a step retry starts it again), from its event log."""
    events = [e for e in profile.instance.all_logs(run_id, of_type=STEP_ENDS) if e.step_key == TUNING_STEP]
    starts = [e.timestamp for e in events if e.dagster_event.event_type == DagsterEventType.STEP_START]
    ends = [e.timestamp for e in events if e.dagster_event.event_type != DagsterEventType.STEP_START]
    assert starts and ends, f"run {run_id} has no finished {TUNING_STEP} step"
    return min(starts), max(ends)


def launch_retrains_together(profile: CeleryProfile, count: int) -> list[str]:
    """`count` retraining runs submitted at once through the CLI (the instance's run queue), their run ids."""
    before = {run.run_id for run in profile.instance.get_runs(RunsFilter(job_name=PIPELINE_JOB))}
    launches = [subprocess.Popen([DAGSTER_CLI, "job", "launch", "-m", "bodyfat_assets.definitions", "-j", PIPELINE_JOB],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(count)]
    for launch in launches:
        output, _ = launch.communicate(timeout=300)
        assert launch.returncode == 0, output
    return [run.run_id for run in profile.instance.get_runs(RunsFilter(job_name=PIPELINE_JOB))
            if run.run_id not in before]


def kill_mid_run(profile: CeleryProfile, name: str, rows: int, kill: Callable[[int, int], None],
                 timings: dict[str, object], label: str) -> None:
    """Land `name`, `kill(worker index, step pid)` once its run is inside its step, and see the run failed and
    retried to success; the figures go to `timings` under `label`."""
    instance = profile.instance
    profile.land_scoring_file(name, rows)

    def running_step() -> tuple[str, int] | None:
        for run in profile.scoring_runs({name}):
            pids = profile.step_pids(run.run_id)
            if run.status == DagsterRunStatus.STARTED and pids:
                return run.run_id, next(iter(pids))
        return None

    wait_until(running_step, RUNS_TIMEOUT_S, f"{name}'s run inside its step", 0.2)
    run_id, pid = running_step()
    killed = profile.worker_of(run_id)
    assert killed is not None, "the run's step runs in a worker's pool process"
    timings[f"{label}_killed_worker"] = killed
    kill(killed, pid)
    killed_at = time.monotonic()

    def retry():
        retries = instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))
        return retries[0] if retries else None

    wait_until(lambda: instance.get_run_by_id(run_id).is_finished, 120, f"{label}: the killed run to be failed", 0.2)
    timings[f"{label}_kill_to_run_failed_s"] = round(time.monotonic() - killed_at, 1)
    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    wait_until(lambda: retry() is not None and retry().status not in UNFINISHED[:3], 120,
               f"{label}: the run retry to start", 0.2)
    timings[f"{label}_kill_to_retry_started_s"] = round(time.monotonic() - killed_at, 1)
    wait_until(lambda: retry().is_finished, RUNS_TIMEOUT_S, f"{label}: the retry to finish", 1.0)
    assert retry().status == DagsterRunStatus.SUCCESS
    assert retry().tags["dagster/retry_number"] == "1"
    timings[f"{label}_retried_on_worker"] = profile.worker_of(retry().run_id)
    assert timings[f"{label}_retried_on_worker"] is not None, "the retry ran in a live worker's pool process"


def test_celery_workers_share_runs_never_tune_at_once_and_killed_workers_are_failed_and_retried(tmp_path):
    require_redis()
    require_postgres()
    timings: dict[str, object] = {}
    with celery_profile(tmp_path, WORKERS, {"run_monitoring": {"poll_interval_seconds": POLL_S}}) as profile:
        instance = profile.instance
        try:
            retrains = launch_retrains_together(profile, RETRAINS)
            assert len(retrains) == RETRAINS, retrains
            wait_until(lambda: all(instance.get_run_by_id(r).is_finished for r in retrains), RUNS_TIMEOUT_S * 2,
                       f"{RETRAINS} retraining runs", 1.0)
            assert {instance.get_run_by_id(r).status for r in retrains} == {DagsterRunStatus.SUCCESS}
            (first_start, first_end), (second_start, second_end) = sorted(
                tuning_interval(profile, r) for r in retrains)
            timings["retrains_on_workers"] = [profile.worker_of(r) for r in retrains]
            timings["tuning_s"] = [round(first_end - first_start, 1), round(second_end - second_start, 1)]
            timings["tuning_gap_s"] = round(second_start - first_end, 1)
            assert first_end <= second_start, f"two tunings overlapped: {timings}"

            # The burst must find both workers idle: the retrains' re-scoring (Declarative Automation, a few ticks
            # later) held one worker once and left all 8 files to the other (runs_per_worker [0, 8]).
            wait_until(idle_for(instance, seconds=6.0), RUNS_TIMEOUT_S, "no run unfinished for 6 s (3 ticks)", 1.0)
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

            kill_mid_run(profile, "slow.csv", 300_000, lambda _worker, pid: os.kill(pid, signal.SIGKILL),
                         timings, "pool_process")
            kill_mid_run(profile, "whole.csv", 300_001,
                         lambda worker, _pid: os.killpg(profile.workers[worker].pid, signal.SIGKILL),
                         timings, "whole_worker")
            assert timings["whole_worker_retried_on_worker"] != timings["whole_worker_killed_worker"]

            wait_until(lambda: not instance.get_runs(RunsFilter(statuses=UNFINISHED)), 120, "the queue to drain", 1.0)
        finally:
            timings["load_average"] = [round(x, 1) for x in os.getloadavg()]
            print(f"\nCelery profile ({WORKERS} workers, monitoring poll {POLL_S} s): {json.dumps(timings)}")
            if "whole_worker_retried_on_worker" not in timings:
                for log in profile.logs:
                    print(f"--- {log.name}\n{log.read_text()[-5000:] if log.exists() else ''}")


def test_a_started_task_whose_worker_does_not_answer_fails_its_run():
    """The launcher's own check against the machine's Redis: a task left STARTED by a worker that is gone."""
    require_redis()
    launcher = WorkerCheckingCeleryRunLauncher(default_queue=f"bodyfat-test-{uuid.uuid4().hex[:8]}", broker=REDIS_URL,
                                               backend=REDIS_URL, worker_reply_timeout_seconds=1)
    gone, finished = str(uuid.uuid4()), str(uuid.uuid4())
    launcher.celery.backend.store_result(gone, {"pid": 1, "hostname": f"gone-{gone}@nowhere"}, "STARTED")
    launcher.celery.backend.store_result(finished, 0, "SUCCESS")
    try:
        health = launcher.check_run_worker_health(
            DagsterRun(job_name=SCORE_JOB, tags={DAGSTER_CELERY_TASK_ID_TAG: gone}))
        assert health.status == WorkerStatus.FAILED, health
        assert "did not answer" in health.msg
        health = launcher.check_run_worker_health(
            DagsterRun(job_name=SCORE_JOB, tags={DAGSTER_CELERY_TASK_ID_TAG: finished}))
        assert health.status == WorkerStatus.SUCCESS, health
    finally:
        for task_id in (gone, finished):
            launcher.celery.backend.forget(task_id)
