"""What the loop did lately, for `bodyfat health`: the decisions and their reasons, runs that failed, and landed
files nobody is handling. Plain records in, plain records out; health_cli reads them from the instance and lake."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

REASON_SUFFIXES = (".reason.json", ".reason")


@dataclass(frozen=True)
class Decision:
    age_hours: float
    outcome: str
    """promoted, rejected or blocked (core/promotion.py)."""
    challenger_version: str
    champion_version: str
    reason: str


@dataclass(frozen=True)
class FailedRun:
    age_hours: float
    job: str
    run_id: str
    target: str
    """The partition or landed file it was for ('' for a retrain)."""
    error: str


@dataclass(frozen=True)
class LandedFile:
    key: str
    """Relative to the landing zone, e.g. `score/nightly.csv`."""
    age_hours: float


def stuck_files(files: Iterable[LandedFile], in_flight: set[str], grace_hours: float) -> list[LandedFile]:
    """Files in landing/train/ or landing/score/ older than `grace_hours` (a new file waits up to one sensor tick for
    its run) with no run in flight for their name and no reason file beside them."""
    files = list(files)
    keys = {f.key for f in files}
    return [f for f in files
            if not f.key.endswith(REASON_SUFFIXES)
            and not any(f"{f.key}{suffix}" in keys for suffix in REASON_SUFFIXES)
            and PurePosixPath(f.key).name not in in_flight
            and f.age_hours >= grace_hours]


def decision_lines(decisions: Sequence[Decision]) -> list[str]:
    """Newest first, the outcome in capitals: a blocked or rejected challenger never reads as a success."""
    if not decisions:
        return ["last decisions: none yet"]
    lines = [f"last {len(decisions)} decision(s), newest first:"]
    for d in decisions:
        kept = f"; champion stays v{d.champion_version}" if d.outcome != "promoted" else ""
        lines.append(f"  {d.age_hours:.1f} h ago: {d.outcome.upper()} challenger v{d.challenger_version}{kept} "
                     f"({d.reason})")
    return lines


def trouble_lines(failed: Sequence[FailedRun], stuck: Sequence[LandedFile], since: str) -> list[str]:
    lines = [f"failed runs since {since}: {len(failed) or 'none'}"]
    lines += [f"  {r.age_hours:.1f} h ago: {r.job}{f' ({r.target})' if r.target else ''} run {r.run_id[:8]}: "
              f"{r.error}" for r in failed]
    lines.append(f"stuck files (in landing/ with no run in flight and no reason beside them): {len(stuck) or 'none'}")
    lines += [f"  {f.key}, {f.age_hours:.1f} h in landing/" for f in stuck]
    return lines
