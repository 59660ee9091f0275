"""Issues 15.1 and 13.2 through real processes: the run worker of a retraining run is killed with `kill -9` together
with the daemon and the code server (a crashed machine or container), and the daemon is started again.

Nobody is left to notice the dead worker, and the DefaultRunLauncher cannot check a worker's health, so the run
stays STARTED and holds the only run slot: before run monitoring nothing was ingested, retrained or scored again.
With the instance's run monitoring (here a short `max_runtime_seconds` of the test's own instance yaml) the run
ends FAILED within the bound, the slot frees, a file landed meanwhile is processed, and Dagster's run retries
re-execute the failed retrain.

Skip it with `-m "not integration"`; it takes several minutes on two busy cores.
"""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from bodyfat_assets.defs.jobs import PIPELINE_JOB
from bodyfat_assets.feed import away_from, landing_store, seed_train_and_test_rows, synthetic_rows
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.loop import BOOTSTRAP_TIMEOUT_S, LOOP_ENV, dagster_processes, loop_home
from bodyfat_assets.testing.services import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
MAX_RUNTIME_S = 150
"""Longer than any run of this loop takes here (tiny trial budget), far shorter than the shipped bound."""
POLL_S = 2
RECOVERY_TIMEOUT_S = 900


def running_retrain_worker(instance: DagsterInstance) -> tuple[str, int] | None:
    """(run id, worker pid) of a retraining run that has started a step (the embedded default runs every step in
    the run worker's own process: in_process_executor)."""
    for run in instance.get_runs(RunsFilter(job_name=PIPELINE_JOB, statuses=[DagsterRunStatus.STARTED])):
        steps = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
        if steps and steps[0].dagster_event.pid:
            return run.run_id, steps[0].dagster_event.pid
    return None


def test_a_worker_killed_mid_retrain_fails_in_bounded_time_frees_the_slot_and_is_retried(tmp_path):
    dagster_home, env = loop_home(tmp_path, run_monitoring={"max_runtime_seconds": MAX_RUNTIME_S,
                                                            "poll_interval_seconds": POLL_S})
    landing = landing_store(Settings.from_env({"BODYFAT_HOME": str(tmp_path), **LOOP_ENV}))
    log = tmp_path / "daemon.log"
    timings: dict[str, float] = {}
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        try:
            with dagster_processes(env, log) as crashed:
                wait_until(lambda: running_retrain_worker(instance), BOOTSTRAP_TIMEOUT_S,
                           "the first retraining run inside a step")
                run_id, worker_pid = running_retrain_worker(instance)
                os.kill(worker_pid, signal.SIGKILL)
                crashed.kill()  # the daemon and the code server go down with it
            killed_at = time.monotonic()
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED, "nobody left to notice"
            # Rows like the feed's: jittered training rows, none within the near-duplicate tolerance of a test row
            train, test = seed_train_and_test_rows(0.2, 42)
            rng = np.random.default_rng(5)
            rows = away_from(synthetic_rows(20, rng, labeled=True, base=train), test, rng, train)
            landing.write_bytes("train/after-crash.csv", rows.to_csv(index=False).encode())

            with dagster_processes(env, log):
                wait_until(lambda: instance.get_run_by_id(run_id).is_finished, MAX_RUNTIME_S + 120,
                           "the dead worker's run to end")
                timings["kill_to_run_failed_s"] = round(time.monotonic() - killed_at, 1)
                assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE

                def processed() -> bool:
                    return any(k.endswith(".csv") and "after-crash" in k for k in landing.list_keys("processed/train/"))

                wait_until(processed, RECOVERY_TIMEOUT_S, "the file landed during the wedge to be processed")
                timings["kill_to_next_file_processed_s"] = round(time.monotonic() - killed_at, 1)

                def retried() -> list:
                    return instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run_id}))

                wait_until(lambda: any(r.status == DagsterRunStatus.SUCCESS for r in retried()), RECOVERY_TIMEOUT_S,
                           "Dagster's run retry of the failed retrain to succeed")
                timings["kill_to_retried_retrain_succeeded_s"] = round(time.monotonic() - killed_at, 1)
                [retry] = retried()
                assert retry.tags["dagster/retry_number"] == "1" and retry.job_name == PIPELINE_JOB
                assert landing.list_keys("train/") == []
        finally:
            print(f"\nworker killed (max_runtime_seconds={MAX_RUNTIME_S}, poll {POLL_S} s): {json.dumps(timings)}")
            (tmp_path / "timings.json").write_text(json.dumps(timings, indent=2))
            if not timings.get("kill_to_retried_retrain_succeeded_s"):
                print(log.read_text()[-6000:])
