"""When new rows justify a retrain: the debounce the retrain sensor applies at every tick."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str


def retrain_decision(pending_rows: int, pending_files: int, seconds_since_last: float | None,
                     min_rows: int, min_interval_s: float, evidence: Sequence[str] = ()) -> RetrainDecision:
    """Debounce: retrain once enough new rows arrived and enough time passed since the last retraining run.

    `seconds_since_last` is None when no model was ever trained: then any ingested data trains the first one.
    `evidence` (the champion doing worse on new labels, or drifting features: core/health/) bypasses the minimum
    number of rows, never the minimum interval.
    """
    if pending_files == 0:
        return RetrainDecision(False, "no file ingested since the last retraining run")
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
