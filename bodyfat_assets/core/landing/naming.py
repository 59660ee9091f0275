"""Names in the landing zone: the three kinds of file, partition keys from name and content, and the keys a file
moves to."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import PurePosixPath

TRAIN, SCORE = "train", "score"
LABELS = "labels"
"""Body fat measured for predictions the API served, keyed by prediction id or the caller's id (joined to the
prediction log by served_performance)."""
KINDS: tuple[str, ...] = (TRAIN, SCORE, LABELS)
"""The folders of landing/ files arrive in."""
SEEDED_KINDS: tuple[str, ...] = (TRAIN, SCORE)
"""Kinds whose first partition is the seed dataset (no labels were ever served for it)."""
PROCESSED, REJECTED = "processed", "rejected"
SEED_PARTITION = "seed"
"""The seed dataset (BODYFAT_SEED_DATASET, data/bodyfat.csv by default) is the first partition of both raw_bodyfat
and batch_predictions."""
HASH_CHARS = 12
"""Hex digits of the SHA-256 in a partition key: 48 bits, so two different files of one name never collide in
practice, and the key stays readable in the Dagster UI."""


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def partition_key_for(name: str, data_hash: str) -> str:
    """`<file stem>-<first 12 hex of sha256>`: readable in the Dagster UI, and a changed file is a new partition."""
    return f"{key_stem(name)}-{data_hash[:HASH_CHARS]}"


def key_stem(name: str) -> str:
    """The part of a partition key that comes from the file's name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePosixPath(name).stem).strip("._") or "file"
    stem = stem.replace("..", "_")  # Dagster refuses '...' in partition keys
    return stem[:80]


def may_be_partition_of(name: str, partition_key: str) -> bool:
    """Whether a file of this name can have this partition key (its content decides): read only such files."""
    return partition_key.rsplit("-", 1)[0] == key_stem(name)


def hash_of_partition(partition_key: str) -> str | None:
    tail = partition_key.rsplit("-", 1)[-1]
    return tail if len(tail) == HASH_CHARS and re.fullmatch(r"[0-9a-f]+", tail) else None


def duplicate_of(data_hash: str, existing_partitions: Iterable[str]) -> str | None:
    """The existing partition with the same content, if any (same bytes under another name, or re-uploaded)."""
    for key in existing_partitions:
        if hash_of_partition(key) == data_hash[:HASH_CHARS]:
            return key
    return None


def processed_key(kind: str, partition_key: str, name: str) -> str:
    return f"{PROCESSED}/{kind}/{partition_key}{PurePosixPath(name).suffix.lower()}"


def partition_of_processed(key: str) -> str:
    """`processed/train/a-0123456789ab.csv` → `a-0123456789ab`."""
    return PurePosixPath(key).stem


def rejected_key(kind: str, name: str, when: datetime) -> str:
    # The timestamp keeps two rejected uploads of the same name apart.
    return f"{REJECTED}/{kind}/{when.strftime('%Y%m%dT%H%M%S%fZ')}-{name.replace('/', '_')}"
