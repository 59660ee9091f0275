"""`serving.records`: a plain list of records read as columns without a dict per row, and every other body left to
the ordinary path (None), so nothing the dict path refuses is accepted here."""

from __future__ import annotations

import json

import pydantic_core
import pytest
from bodyfat_contract import CALLER_ID, FEATURE_NAMES

from serving.records import records_as_columns
from serving.schemas import EXAMPLE_RECORD, _records_as_columns, validate_batch_json

RECORD = {name: EXAMPLE_RECORD[name] for name in FEATURE_NAMES}
ROWS = [RECORD, {**RECORD, "Abdomen": 110.5, "Age": 41}, {**RECORD, "Wrist": 18.25}]


def _read(text: str, max_rows: int = 100) -> dict | None:
    return records_as_columns(text.encode(), FEATURE_NAMES, max_rows)


@pytest.mark.parametrize("dumps", [
    json.dumps, lambda v: json.dumps(v, separators=(",", ":")), lambda v: json.dumps(v, indent=2),
    lambda v: "\r\n " + json.dumps(v) + "\n",
])  # fmt: skip
def test_plain_records_read_as_the_dict_path_reads_them(dumps) -> None:
    text = dumps(ROWS)
    columns = _read(text)
    assert columns == _records_as_columns(pydantic_core.from_json(text), 100)
    assert list(columns) == list(FEATURE_NAMES) and columns["Age"] == [23, 41, 23]


def test_the_first_records_key_order_is_kept() -> None:
    reordered = [dict(reversed(list(row.items()))) for row in ROWS]
    columns = _read(json.dumps(reordered))
    assert list(columns) == list(reversed(FEATURE_NAMES))
    assert columns == _records_as_columns(reordered, 100)


def _swap_first_two_keys(row: dict) -> dict:
    items = list(row.items())
    return dict([items[1], items[0], *items[2:]])


@pytest.mark.parametrize("text", [
    json.dumps([ROWS[0], _swap_first_two_keys(ROWS[1])]),  # another key order in a later row
    json.dumps(ROWS).replace('"Age"', '"Age1"', 1),  # a digit inside a key (the shape drops digits)
    json.dumps(ROWS).replace('"Age":', '"Age1":', 1).replace(": 23,", ":23,", 1),  # ... glued to its value: 123
    json.dumps(ROWS).replace('"Age"', '"A ge"', 1),  # whitespace inside a key
    json.dumps(ROWS).replace('"Age"', '"A-ge"', 1),
    json.dumps(ROWS).replace('"Age"', '"Ag\\u0065"', 1),  # an escaped key
    json.dumps(ROWS).replace("23", "2.3e1", 1),  # an exponent: `e` is also a key letter
    json.dumps(ROWS).replace("23", "true", 1),
    json.dumps(ROWS).replace("23", "null", 1),
    json.dumps(ROWS).replace("23", "NaN", 1),
    json.dumps(ROWS).replace("23", '"23"', 1),
    json.dumps(ROWS).replace("23", "[23]", 1),
    json.dumps(ROWS).replace("23", "+23", 1),
    json.dumps(ROWS).replace("23", "023", 1),
    json.dumps(ROWS).replace("23", "", 1),  # a key without a value
    json.dumps(ROWS).replace("23,", "23, 5,", 1),  # a value without a key
    json.dumps(ROWS).replace('{"Age": 23,', '{5, "Age": 23,', 1),
    json.dumps(ROWS).replace("23", "2 3", 1),
    json.dumps(ROWS)[:-1] + ",]",
    json.dumps(ROWS) + "x",
    json.dumps([*ROWS, {**RECORD, "Neck": 1.0, "Density": 1.05}]),  # an extra key
    json.dumps([*ROWS, {k: v for k, v in RECORD.items() if k != "Hip"}]),  # a missing key
    json.dumps([{**row, CALLER_ID: "a"} for row in ROWS]),  # the caller's id: the dict path handles it
    json.dumps([{**row, CALLER_ID: 7} for row in ROWS]),
    json.dumps(ROWS).replace('"Hip": 94.5', '"Age": 94.5', 1),  # a duplicate key
    json.dumps([ROWS]),
    json.dumps({"columns": {k: [v] for k, v in RECORD.items()}}),
    "[]",
    "",
])  # fmt: skip
def test_any_other_body_is_left_to_the_ordinary_path(text: str) -> None:
    assert _read(text) is None


def test_more_rows_than_the_cap_are_left_to_the_ordinary_path() -> None:
    assert _read(json.dumps(ROWS), max_rows=2) is None


def test_out_of_range_values_are_read_and_refused_by_validation_with_their_row() -> None:
    """The reader does not check ranges: the batch validation does, and names the row and field."""
    text = json.dumps([*ROWS, {**RECORD, "Age": 1e3}])
    assert _read(text)["Age"][-1] == 1000.0
    with pytest.raises(Exception) as raised:
        validate_batch_json(text.encode(), 100)
    assert raised.value.errors()[0]["loc"][:3] == ("records", 3, "Age")
