"""Taking a landed labeled file back: the record of a withdrawal, and what cleaning makes of it.

A withdrawal is a small table (`source`, `reason`, `withdrawn_at`) stored per partition in the lake; cleaning
quarantines every row of a withdrawn file under the rule `withdrawn`, whatever the other rules say. The raw
partition is never touched, so the file stays readable for audit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

import pandas as pd

from bodyfat_assets.core.landing.naming import SEED_PARTITION

WITHDRAWN_RULE = "withdrawn"
RECORD_COLUMNS = ("source", "reason", "withdrawn_at")


class WithdrawalError(ValueError):
    """A withdrawal that cannot be recorded; the message says why and what to do instead."""


def withdrawal_record(partition: str, reason: str, known_partitions: Collection[str],
                      when: datetime) -> pd.DataFrame:
    """The one-row record of withdrawing `partition` for `reason`, or WithdrawalError.

    The seed cannot be withdrawn: its test rows are the trusted holdout every promotion is judged on, and without
    them the `champion` step refuses to decide at all."""
    reason = reason.strip()
    if not reason:
        raise WithdrawalError("a withdrawal needs a reason (it is shown beside every quarantined row)")
    if partition == SEED_PARTITION:
        raise WithdrawalError(f"`{SEED_PARTITION}` holds the trusted holdout and cannot be withdrawn")
    if partition not in known_partitions:
        raise WithdrawalError(f"no labeled file `{partition}`; known: {', '.join(sorted(known_partitions)) or 'none'}")
    return pd.DataFrame([{"source": partition, "reason": reason, "withdrawn_at": when.isoformat()}],
                        columns=list(RECORD_COLUMNS))


def withdrawn_sources(records: pd.DataFrame) -> dict[str, str]:
    """file (source) → why it was withdrawn, from the stored records (empty frame: nothing withdrawn). A file
    withdrawn twice keeps its latest reason."""
    if records.empty:
        return {}
    latest = records.sort_values("withdrawn_at").drop_duplicates("source", keep="last")
    return {str(s): f"withdrawn: {r}" for s, r in zip(latest["source"], latest["reason"], strict=True)}


def withdrawal_findings(sources: pd.Series, withdrawn: Mapping[str, str]) -> pd.Series:
    """Per row, the withdrawal reason of its file or None."""
    return sources.map(dict(withdrawn)).astype(object).where(sources.isin(list(withdrawn)), None)
