"""dagster_celery's CeleryRunLauncher, plus a check that the worker holding a STARTED run is still there.

dagster-celery 0.29.27 judges a run's worker by its Celery task state alone (dagster_celery/launcher.py:186-199):
STARTED reads as RUNNING. A worker that dies whole (main process too: `kill -9` of the worker, a lost container or
host) never writes anything else, so the run stays STARTED until `max_runtime_seconds`. No Celery or kombu setting
changes that with a Redis broker: `task_acks_late` only gets the message redelivered after the transport's
`visibility_timeout`, counted from delivery whatever the worker's health (kombu/transport/redis.py:523-548), and a
redelivered task on a STARTED run is ignored while run monitoring is on (dagster/_core/execution/api.py:86-95).
"""

from __future__ import annotations

from typing import Any

from dagster import DagsterRun, Field, IntSource
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._serdes import ConfigurableClassData
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

WORKER_REPLY_TIMEOUT_S = 5
"""How long a task's worker has to answer (its main process answers while the pool process runs the run): a reply
comes in milliseconds, so only a dead worker costs this, once per monitoring poll."""


class WorkerCheckingCeleryRunLauncher(CeleryRunLauncher):
    """Asks the worker named in a STARTED task's state whether it still holds the task (Celery's `query_task`
    remote control over the broker). No reply, or a reply without the task, fails the run, and run_retries starts
    it again on whichever worker is free. Hand-made because dagster-celery's own check reads only the task state,
    which a worker that dies whole leaves at STARTED."""

    def __init__(self, default_queue: str, worker_reply_timeout_seconds: int = WORKER_REPLY_TIMEOUT_S,
                 inst_data: ConfigurableClassData | None = None, **celery_config: Any) -> None:
        self.worker_reply_timeout_seconds = worker_reply_timeout_seconds
        super().__init__(default_queue=default_queue, inst_data=inst_data, **celery_config)

    @classmethod
    def config_type(cls) -> dict:
        return {**super().config_type(), "worker_reply_timeout_seconds": Field(
            IntSource, is_required=False, default_value=WORKER_REPLY_TIMEOUT_S,
            description="Seconds a STARTED task's worker has to answer before its run is failed.")}

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        result = super().check_run_worker_health(run)
        if result.status != WorkerStatus.RUNNING:
            return result
        task_id = run.tags[DAGSTER_CELERY_TASK_ID_TAG]
        task = self.celery.AsyncResult(task_id)
        started = task.info if isinstance(task.info, dict) else {}  # {'pid', 'hostname'}, written at STARTED
        worker = started.get("hostname")
        if not worker:
            return result
        replies = self.celery.control.inspect(destination=[worker],
                                              timeout=self.worker_reply_timeout_seconds).query_task(task_id) or {}
        if task_id in replies.get(worker, {}):
            return result
        # The task may have finished between the two reads: its new state is the answer then.
        again = super().check_run_worker_health(run)
        if again.status != WorkerStatus.RUNNING:
            return again
        why = "did not answer" if worker not in replies else "answered without the task"
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"Celery task {task_id} is STARTED but its worker {worker} {why} within "
            f"{self.worker_reply_timeout_seconds} s: the worker is gone.")
