"""Which newly accepted labeled files share one ingestion run.

A run costs a fresh process importing the ML stack: one run per file drained a burst of 50 small labeled files at
about 1.5 files a minute (32 of 50 after 21.5 min, 2 cores). Files accepted in the same tick are ingested together,
in runs over consecutive partitions (a run's partitions are a range of the partition order, and a tick registers
its new partitions in one request, in the order given here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bodyfat_assets.core.landing.identity import FULL_CHECK_BYTES

BATCH_MAX_BYTES = FULL_CHECK_BYTES
"""A batch's files together stay within what the tick itself reads whole: one run never holds more in memory than
a single file ingested alone may take; a larger file has a run of its own."""
BATCH_MAX_FILES = 100
"""Files per run: keeps the run's tag that names each file's landing name a few kilobytes."""


@dataclass(frozen=True)
class AcceptedFile:
    partition_key: str
    landing_name: str
    size: int


def ingestion_batches(files: Sequence[AcceptedFile], max_bytes: int = BATCH_MAX_BYTES,
                      max_files: int = BATCH_MAX_FILES) -> list[list[AcceptedFile]]:
    """Consecutive runs of `files`, in their order, each within `max_bytes` and `max_files` (a file above
    `max_bytes` alone). Order is kept: the partitions of a batch must be adjacent in the partition order."""
    batches: list[list[AcceptedFile]] = []
    current: list[AcceptedFile] = []
    size = 0
    for file in files:
        if current and (size + file.size > max_bytes or len(current) >= max_files):
            batches.append(current)
            current, size = [], 0
        current.append(file)
        size += file.size
    if current:
        batches.append(current)
    return batches
