"""When new rows justify a retrain: the debounce the retrain sensor applies at every tick, what holds a retrain back
while Dagster is still handling the previous one, and the run key that names the data a retrain reads."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IN_FLIGHT, SUCCEEDED, FAILED, CANCELED = "in_flight", "succeeded", "failed", "canceled"
STATUS_WORDS = {"NOT_STARTED": "waiting to start", "QUEUED": "queued", "STARTING": "starting", "STARTED": "running"}


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str


@dataclass(frozen=True)
class LatestRetrain:
    """The newest retraining run, as the sensor sees it."""

    run_id: str
    outcome: str
    """IN_FLIGHT (queued, starting or running), SUCCEEDED, FAILED or CANCELED."""
    status: str = ""
    """Dagster's own status name, for the message."""
    will_retry: bool = False
    """A failed run that Dagster's run retries will re-execute (the instance's `run_retries`)."""
    retry_number: int = 0
    """0 for a first run, n for its n-th automatic retry."""


def waiting_for(latest: LatestRetrain | None) -> str | None:
    """Why no retrain may be requested now, or None. While a retraining run is queued or running, or failed and is
    about to be retried by Dagster, a new request would queue a second, identical run behind it (six identical model
    versions were registered that way); the rows that land meanwhile wait for the run after it."""
    if latest is None:
        return None
    if latest.outcome == IN_FLIGHT:
        attempt = f" (retry {latest.retry_number})" if latest.retry_number else ""
        state = STATUS_WORDS.get(latest.status, latest.status.lower())
        return f"retraining run {latest.run_id[:8]}{attempt} is {state}; new rows wait for it to end"
    if latest.outcome == FAILED and latest.will_retry:
        return (f"retraining run {latest.run_id[:8]} failed; Dagster's run retries re-execute it "
                f"(retry {latest.retry_number + 1})")
    return None


def retrain_decision(pending_rows: int, pending_files: int, seconds_since_last: float | None,
                     min_rows: int, min_interval_s: float, evidence: Sequence[str] = ()) -> RetrainDecision:
    """Debounce: retrain once enough new rows arrived and enough time passed since the last retraining run.

    `seconds_since_last` is None when no model was ever trained: then any ingested data trains the first one.
    `evidence` (the champion doing worse on new labels, or drifting features: core/health/) bypasses the minimum
    number of rows, never the minimum interval.
    """
    if pending_files == 0 and seconds_since_last is None:
        return RetrainDecision(False, "no labeled file ingested yet: the first training waits for one")
    if pending_files == 0:
        return RetrainDecision(False, "no file ingested since the last successful retraining run read the data")
    if seconds_since_last is None:
        return RetrainDecision(True, f"first training: {pending_rows} rows in {pending_files} file(s)")
    if evidence and seconds_since_last >= min_interval_s:
        return RetrainDecision(True, f"evidence: {'; '.join(evidence)}")
    if pending_rows < min_rows:
        return RetrainDecision(False, f"{pending_rows} new rows in {pending_files} file(s); waiting for {min_rows}")
    if seconds_since_last < min_interval_s:
        return RetrainDecision(False, f"{pending_rows} new rows, but the last retraining run started "
                                      f"{seconds_since_last:.0f} s ago (minimum {min_interval_s:.0f} s)")
    return RetrainDecision(True, f"{pending_rows} new rows in {pending_files} file(s) since the last retraining run")


def retrain_run_key(partitions: Iterable[str]) -> str:
    """One run key per set of raw partitions a retrain reads: requests for the same data collapse into one run
    (Dagster skips a request whose run key a run of the sensor already has), however often the sensor ticks or a
    partition is re-materialized."""
    digest = hashlib.sha256("\n".join(sorted(set(partitions))).encode()).hexdigest()[:16]
    return f"retrain-{digest}"


def same_data_reason(run_id: str, outcome: str) -> str:
    """The skip reason when a retraining run already read exactly this data: a request with its run key would be
    dropped by Dagster, so the sensor says what happens instead of announcing a retrain."""
    if outcome == FAILED:
        return (f"retraining on this data failed (run {run_id[:8]}, its retries spent): no retrain until a new file "
                f"arrives, or re-execute the run by hand (docs/landing.md)")
    if outcome == CANCELED:
        return f"a retraining run on this data was canceled (run {run_id[:8]}): no retrain until a new file arrives"
    return f"run {run_id[:8]} ({outcome}) already retrained on this data"


def retrain_outlook(new_rows: int, seconds_since_last: float | None, min_rows: int, min_interval_s: float,
                    sensor_interval_s: float) -> str:
    """What `make feed` tells its user about the retrain its labeled rows lead to: when, and why then (the rules of
    `retrain_decision`; rows already waiting from an earlier feed are not counted here, they only make it sooner).
    `seconds_since_last`: since the newest retraining run was created, None when there was none."""
    after = (f"the retrain sensor looks every {sensor_interval_s:g} s, once the files' ingestion runs have finished; "
             f"the decision follows the retraining run")
    if new_rows == 0:
        return "Retrain: none for scoring files alone"
    if seconds_since_last is None:
        return f"Retrain: at the sensor's next look, the first training (no retraining run yet); {after}"
    if new_rows < min_rows:
        return (f"Retrain: not for these {new_rows} rows alone: it waits for {min_rows} new rows "
                f"(BODYFAT_RETRAIN_MIN_ROWS), or for evidence that the champion does worse on new labels")
    wait = min_interval_s - seconds_since_last
    rows = f"{new_rows} new rows reach BODYFAT_RETRAIN_MIN_ROWS={min_rows}"
    if wait <= 0:
        return (f"Retrain: at the sensor's next look: {rows}, and the last retraining run started "
                f"{seconds_since_last:.0f} s ago (BODYFAT_RETRAIN_MIN_INTERVAL_S={min_interval_s:g}); {after}")
    return (f"Retrain: in about {wait:.0f} s: {rows}, but the last retraining run started {seconds_since_last:.0f} s "
            f"ago and BODYFAT_RETRAIN_MIN_INTERVAL_S={min_interval_s:g} s must pass first; {after}")
