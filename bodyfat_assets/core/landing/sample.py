"""Classifying a large landed file from a bounded read: the head of a CSV or the footer of a Parquet file (its key
comes from `identity.fingerprint`). The tick's time and memory stay bounded whatever the file's size; its full
validation happens in the run (`partition_file.load_partition_file`, streamed scoring)."""

from __future__ import annotations

import pyarrow.parquet as pq

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.validation import Reject, check_columns, file_format, read_landed_file
from bodyfat_assets.lake import ObjectStore, RangeReader

SAMPLE_BYTES = 1 << 20
"""The head of a large CSV read by the tick: about 12,000 rows of 13 measurements."""


def check_sample(store: ObjectStore, obj: LandedObject) -> int | None:
    """Validate a large landed file from its head (CSV: header and the first complete rows, with every check of
    `read_landed_file`) or its footer (Parquet: schema and row count). Returns the rows known so far (a Parquet
    file's count; None for a CSV, counted by its run). Raises `Reject`."""
    if "/" in obj.name:
        raise Reject("unsupported_location", f"{obj.kind}/{obj.name}: put files directly in {obj.kind}/")
    if file_format(obj.name) == "csv":
        head = store.read_range(obj.key, 0, SAMPLE_BYTES)
        complete_lines = head[:head.rfind(b"\n") + 1] if len(head) < obj.size else head
        read_landed_file(obj.kind, obj.name, complete_lines)
        return None
    try:
        metadata = pq.ParquetFile(RangeReader(store, obj.key, obj.size)).metadata
    except Exception as exc:  # any footer failure means the same thing to the sender
        raise Reject("unreadable", f"{obj.name} is not valid parquet: {type(exc).__name__}: {str(exc)[:200]}") from exc
    check_columns(obj.kind, list(metadata.schema.to_arrow_schema().names))
    if metadata.num_rows == 0:
        raise Reject("empty", f"{obj.name} has a schema but no rows")
    return int(metadata.num_rows)
