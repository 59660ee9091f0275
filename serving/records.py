"""A JSON list of records read as rows of numbers, without building a dict per row.

`pydantic_core.from_json` builds one dict per record: for 10,000 records of 13 features that was ~27 ms of a ~42 ms
parse and transpose (quiet machine), against ~8 ms for the same numbers as lists. Here the keys are checked on the
raw bytes with a few C-level `bytes.translate` passes, then deleted, and what is left, `[[37, 151.0, ...], ...]`,
is parsed as lists. Only a plain body takes this path (every record has the same features in the same order, only
numbers as values, no exponent); anything else returns None and the caller parses the body as before, so an error
still names its row and field.
"""

from __future__ import annotations

import string
from collections.abc import Collection
from typing import Any

import pydantic_core

_LETTERS = string.ascii_letters.encode()
# What a number and the whitespace around it are made of. `e`/`E` are left out: they are letters of the keys, so a
# value with an exponent keeps a letter in the shape below and the body takes the ordinary path.
_NUMBER = b"0123456789+-." + string.whitespace.encode()
_AS_LISTS = bytes.maketrans(b"{}", b"[]")


def _row_keys(row: bytes, names: Collection[str]) -> tuple[str, ...] | None:
    """The keys of one record's shape `{"Age":,"Weight":,...}`, if they are exactly `names` (any order)."""
    if not (row.startswith(b'{"') and row.endswith(b'":}')):
        return None
    keys = tuple(row[2:-3].decode("ascii", "replace").split('":,"'))
    return keys if len(keys) == len(names) and set(keys) == set(names) else None


def records_as_columns(raw: bytes, names: Collection[str], max_rows: int) -> dict[str, list[Any]] | None:
    """{name: values} for a JSON array of at most `max_rows` objects that each hold exactly `names` with number
    values, in the first object's key order; None for any other body (the values are not range-checked here)."""
    # The body without its numbers and whitespace: `[{"Age":,"Weight":,...},{"Age":,...}]`. Letters, quotes, colons
    # and brackets stay, so a string, `true`, `null`, `NaN`, a nested value or another key order shows in it.
    shape = raw.translate(None, _NUMBER)
    end = shape.find(b"}")
    if not shape.startswith(b"[{") or end < 0:
        return None
    row = shape[1 : end + 1]
    keys = _row_keys(row, names)
    rows = shape.count(b"{")
    if keys is None or rows > max_rows or shape != b"[" + b",".join([row] * rows) + b"]":
        return None
    # Digits, signs, dots and whitespace inside a key were deleted from the shape too ("Age1" looks like "Age"):
    # with the letters deleted as well, a key made of letters only is an empty string.
    if raw.translate(None, _LETTERS).count(b'""') != rows * len(keys):
        return None
    try:
        values = pydantic_core.from_json(raw.translate(_AS_LISTS, _LETTERS + b'":'))
    except ValueError:
        return None  # a malformed number: the ordinary path reports it
    return dict(zip(keys, map(list, zip(*values, strict=True)), strict=True))
