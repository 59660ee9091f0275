"""Files left in the landing zone by a run that failed for a reason outside the file.

A file that breaks the contract leaves landing/ with its reason (the sensor or its run rejects it). A file whose run
failed for another reason (the code server took more than 180 s to start at a load of 19–24 and the coordinator
failed 7 queued runs at once; the lake was unreachable) stayed in landing/ with no run and no reason: scoring files
waited 24–31 min for a promotion to re-score them, a labeled file would have waited for ever. The landing sensor
asks again for such a file's run, a bounded number of times with a growing wait, then rejects it with the last
error as its reason: no file stays in landing/ without a run in flight or a reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUEUE_TAG = "bodyfat/requeue"
"""On a run the landing sensor asked for again: which request it is (1, 2, ...)."""
RUN_FAILED = "run_failed"


@dataclass(frozen=True)
class StrandedFile:
    """A landed file still in landing/ whose partition's latest run ended failed, with no run in flight or
    pending retry and no materialization."""

    kind: str
    landing_name: str
    partition_key: str
    requeued: int
    """How many times the sensor already asked again for this partition's run."""
    failed_at: float
    """When its latest run ended (seconds since the epoch)."""
    error: str
    """Why that run failed, as Dagster recorded it."""


@dataclass(frozen=True)
class RequeuePolicy:
    max_requeues: int = 4
    first_wait_s: float = 60.0
    """The wait before the first request again; it doubles with each (60, 120, 240, 480 s: 15 min in all, longer than
    the slowest code-server start seen here, 180+ s at a load of 24)."""

    def wait_before(self, requeued: int) -> float:
        return self.first_wait_s * 2**requeued


@dataclass(frozen=True)
class RequeueDecision:
    file: StrandedFile
    action: str
    """`requeue` (ask for its run again now), `wait` (not yet) or `reject` (requests spent: move it to rejected/)."""
    detail: str


def decide_requeue(file: StrandedFile, now: float, policy: RequeuePolicy) -> RequeueDecision:
    if file.requeued >= policy.max_requeues:
        return RequeueDecision(file, "reject", f"its run failed {file.requeued + 1} times for a reason outside the "
                                               f"file; the last error: {file.error[:300]}")
    due = file.failed_at + policy.wait_before(file.requeued)
    if now < due:
        return RequeueDecision(file, "wait", f"run failed ({file.error[:120]}); asking again in {due - now:.0f} s "
                                             f"(request {file.requeued + 1} of {policy.max_requeues})")
    return RequeueDecision(file, "requeue", f"run failed ({file.error[:120]}); asking again "
                                            f"(request {file.requeued + 1} of {policy.max_requeues})")
