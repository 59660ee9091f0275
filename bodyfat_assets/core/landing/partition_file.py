"""The file behind a run's partition: found in processed/ (a re-materialization) or in the landing folder, read,
validated again, and moved to processed/ once read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.identity import key_matches
from bodyfat_assets.core.landing.moves import move_object, reject_object
from bodyfat_assets.core.landing.naming import (
    PROCESSED,
    SEED_PARTITION,
    content_hash,
    may_be_partition_of,
    partition_of_processed,
    processed_key,
)
from bodyfat_assets.core.landing.validation import Reject, read_landed_file
from bodyfat_assets.lake import ObjectStore


class PartitionFileGone(FileNotFoundError):
    """Neither the landed file with this partition's content nor its processed copy exists: the file changed (a new
    version is a new partition) or was removed after the sensor accepted it."""


def locate_partition_file(store: ObjectStore, kind: str, partition_key: str,
                          landing_name: str | None) -> tuple[str, bool]:
    """Where a partition's file is now: its processed copy (re-materialization) or the landed original.

    Returns (key, already_processed). `landing_name` comes from the run's tags; without it (a run started by hand)
    the landing folder is searched for a file whose name and bytes give this partition key.
    """
    processed = [k for k in store.list_keys(f"{PROCESSED}/{kind}/") if partition_of_processed(k) == partition_key]
    if processed:
        return processed[0], True
    candidates = [f"{kind}/{landing_name}"] if landing_name else [
        key for key in store.list_keys(f"{kind}/") if may_be_partition_of(PurePosixPath(key).name, partition_key)]
    for key in candidates:
        # Read in ranges: a scoring file of millions of rows is never held whole here (streamed scoring).
        if store.exists(key) and key_matches(store, key, partition_key):
            return key, False
    raise PartitionFileGone(f"no file for partition {partition_key} in {store.url}/{kind}/ or "
                            f"{store.url}/{PROCESSED}/{kind}/ (changed or removed after it landed?)")


@dataclass(frozen=True)
class PartitionFile:
    frame: pd.DataFrame
    """Validated, canonical columns (validation.read_landed_file)."""
    location: str
    """Where the file is now (after the move), as a URL or path."""
    sha256: str
    moved_from: str | None = None
    """The landing URL it was moved from by this call, None when it was already processed (or is the seed)."""


def load_partition_file(store: ObjectStore, kind: str, partition_key: str, landing_name: str | None,
                        seed_path: str | Path) -> PartitionFile:
    """The validated frame behind `partition_key`. A landed original moves to processed/ once read (copy, verify,
    delete); a re-materialization reads the processed copy; `seed` is the seed dataset.

    Raises `Reject` when the file no longer passes validation (the contract changed since the sensor accepted it):
    a landed original is moved to rejected/ first, so it never stays in the landing folder.
    """
    if partition_key == SEED_PARTITION:
        data = Path(seed_path).read_bytes()
        return PartitionFile(read_landed_file(kind, Path(seed_path).name, data), str(seed_path), content_hash(data))
    file_key, already_processed = locate_partition_file(store, kind, partition_key, landing_name)
    data = store.read_bytes(file_key)
    name = PurePosixPath(file_key).name
    try:
        frame = read_landed_file(kind, name, data)
    except Reject as rejection:
        if not already_processed:
            reject_object(store, LandedObject(file_key, "", len(data)), rejection.code, rejection.detail, data)
        raise
    if already_processed:
        dropped_again = f"{kind}/{landing_name}" if landing_name else None
        if dropped_again and store.exists(dropped_again) and store.read_bytes(dropped_again) == data:
            store.delete(dropped_again)  # the sender retried a run that failed after the move: same bytes, kept once
        return PartitionFile(frame, f"{store.url}/{file_key}", content_hash(data))
    location = processed_key(kind, partition_key, name)
    move_object(store, file_key, location, data)
    return PartitionFile(frame, f"{store.url}/{location}", content_hash(data), moved_from=f"{store.url}/{file_key}")
