"""The one parser of scoring CSV files, for the landing sensor and the scoring run alike: pyarrow's streaming reader,
every column as text. When pandas judged the file at the sensor and pyarrow at the run, a truncated last row passed
the first (pandas fills the missing cells) and failed the second ("Expected 15 columns, got 11") with no reason
written, so the file stayed in score/ for ever and every promotion added a failed re-score run."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from bodyfat_assets.core.landing.reject import Reject

HEADER_BYTES = 1 << 16


def csv_header(file: BinaryIO) -> list[str]:
    """The CSV header's names; the file is rewound."""
    head = file.read(HEADER_BYTES)
    file.seek(0)
    lines = head.splitlines()
    if not lines or not lines[0].strip():
        raise Reject("empty", "no header or rows")
    return next(csv.reader(io.StringIO(lines[0].decode("utf-8", errors="replace"))))


def csv_text_batches(file: BinaryIO, name: str, block_size: int) -> Iterator[pa.RecordBatch]:
    """The file's rows as record batches of text columns named as in its header. A row the parser cannot read (too
    few or too many fields, bad quoting or encoding) raises `Reject("unreadable", ...)` naming it: the file moves to
    rejected/ with that reason, wherever it is found."""
    names = csv_header(file)
    try:
        reader = pacsv.open_csv(
            file, read_options=pacsv.ReadOptions(block_size=block_size),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                                 strings_can_be_null=True))
        yield from reader
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise Reject("unreadable", f"{name} is not valid csv: {str(exc)[:200]}") from exc
