"""What identifies a landed file's content, at a cost that does not grow with its size.

A small file is keyed by the SHA-256 of its bytes. A large one (above `FULL_CHECK_BYTES`) by a fingerprint: the
SHA-256 of its size and `FINGERPRINT_BLOCKS` blocks spread over it, first and last included (1 MB read whatever the
size). Hashing a whole 10M-row CSV (about 860 MB) took the tick to 5.1 s, past the tick's 2 s budget; the fingerprint
takes milliseconds. A fingerprint is only a claim: when it matches a known partition, the two files are compared in
full before the new one is called a duplicate, and one that differs is keyed by its full hash instead. That full
read happens only for a real duplicate (rejected once) or a file that differs only outside the sampled blocks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.naming import PROCESSED, partition_key_for, partition_of_processed
from bodyfat_assets.lake import ObjectStore

FULL_CHECK_BYTES = 64 << 20
"""Files up to this size are read whole and validated row by row in the tick, and keyed by their full hash; larger
ones are classified from a bounded sample and keyed by `fingerprint`. An 8M-row file (727 MB) read whole took longer
than Dagster's 60 s sensor timeout, every tick, and a 30-row file beside it waited until it was removed."""
FINGERPRINT_BLOCKS = 16
FINGERPRINT_BLOCK_BYTES = 64 << 10
HASH_CHUNK_BYTES = 8 << 20


def streamed_hash(store: ObjectStore, key: str, size: int) -> str:
    """SHA-256 of an object read `HASH_CHUNK_BYTES` at a time (about 650 MB/s on the project's machine)."""
    digest = hashlib.sha256()
    for start in range(0, size, HASH_CHUNK_BYTES):
        digest.update(store.read_range(key, start, HASH_CHUNK_BYTES))
    return digest.hexdigest()


def fingerprint_offsets(size: int) -> list[int]:
    """Where the sampled blocks start: evenly spread, the first at 0 and the last ending at `size`."""
    last = max(size - FINGERPRINT_BLOCK_BYTES, 0)
    return sorted({round(last * i / (FINGERPRINT_BLOCKS - 1)) for i in range(FINGERPRINT_BLOCKS)})


def fingerprint(store: ObjectStore, key: str, size: int) -> str:
    """SHA-256 of the size and the sampled blocks; prefixed so it can never equal a small file's content hash."""
    digest = hashlib.sha256(f"bodyfat-fingerprint:{size}:".encode())
    for start in fingerprint_offsets(size):
        digest.update(store.read_range(key, start, FINGERPRINT_BLOCK_BYTES))
    return digest.hexdigest()


def stored_file_of(store: ObjectStore, kind: str, partition_key: str, landed: Iterable[LandedObject],
                   large_bytes: int = FULL_CHECK_BYTES) -> tuple[str, int] | None:
    """The bytes behind a known large partition, to compare against: its processed copy, or a landed file of its
    kind whose fingerprint gives that key (its run has not moved it yet). None when neither is stored any more."""
    for stored in store.list_objects(f"{PROCESSED}/{kind}/"):
        if partition_of_processed(stored.key) == partition_key:
            return stored.key, stored.size
    for obj in landed:
        if obj.kind == kind and obj.size > large_bytes and \
                partition_key_for(obj.name, fingerprint(store, obj.key, obj.size)) == partition_key:
            return obj.key, obj.size
    return None


def same_bytes(store: ObjectStore, obj: LandedObject, other: tuple[str, int]) -> bool:
    other_key, other_size = other
    return obj.size == other_size and \
        streamed_hash(store, obj.key, obj.size) == streamed_hash(store, other_key, other_size)


def key_matches(store: ObjectStore, key: str, partition_key: str) -> bool:
    """Whether the stored object `key` (`<kind>/<name>`) holds the bytes of `partition_key`, keyed either way: a
    small file is usually keyed by its full hash, a large one by its fingerprint (or by its full hash after a
    fingerprint match), so the likely way is tried first (the fingerprint is 16 ranged reads, on S3 16 requests)."""
    name, size = key.split("/", 1)[1], store.size(key)
    ways = [streamed_hash, fingerprint] if size <= FULL_CHECK_BYTES else [fingerprint, streamed_hash]
    return any(partition_key_for(name, way(store, key, size)) == partition_key for way in ways)
