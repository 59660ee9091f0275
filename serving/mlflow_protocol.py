"""MLflow's scoring protocol as pure functions: the content type, the four JSON bodies and CSV, turned into our batch.

Behaviour follows `mlflow/pyfunc/scoring_server/__init__.py` of MLflow 3.17.2: the media type is `text/csv` or
`application/json`, a `charset` other than UTF-8 and any other content-type parameter are a 415, a CSV body is a
header row of column names then one line per row, read by `pandas.read_csv` with the features as float64 (MLflow
passes the signature's dtypes), undecodable UTF-8 or unparsable CSV is a 400. Where we answer differently, the
difference is deliberate and listed in docs/serving.md ("Differences from `mlflow models serve`").
"""

from __future__ import annotations

import io
from typing import Any

import pydantic_core
from bodyfat_contract import FEATURE_NAMES
from fastapi.exceptions import RequestValidationError

from serving.body import refuse_long_arrays, too_many_rows
from serving.errors import ApiError
from serving.schemas import EXAMPLE_RECORD, BatchRequest, validate_batch_python

FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
CSV, JSON = "text/csv", "application/json"
CSV_DTYPES = dict.fromkeys(FEATURE_NAMES, "float64")
# What pandas calls the nameless first column `DataFrame.to_csv()` writes by default: the index.
PANDAS_INDEX = "Unnamed: 0"


def media_type(content_type: str | None) -> str:
    """`text/csv` or `application/json` from a Content-Type header, else a 415 as MLflow answers. A missing header
    means JSON here (MLflow answers 500: it calls `.split` on None)."""
    if content_type is None:
        return JSON
    mime, *pairs = (part.strip() for part in content_type.split(";"))
    params = {key.strip().lower(): value.strip().lower() for key, _, value in (p.partition("=") for p in pairs)}
    if params.get("charset", "utf-8") != "utf-8":
        raise ApiError(415, "unsupported_media_type", "only UTF-8 is accepted")
    if unexpected := sorted(params.keys() - {"charset"}):
        raise ApiError(415, "unsupported_media_type", f"unrecognised content type parameters: {', '.join(unexpected)}")
    mime = mime.lower()
    if mime not in (CSV, JSON):
        raise ApiError(415, "unsupported_media_type", f"send {JSON} or {CSV}, not {mime[:64]!r}")
    return mime


def as_batch(payload: Any) -> tuple[str, Any]:
    """(format, our batch body: a list of records or {"columns": ...}) from one of MLflow's request bodies."""
    if not isinstance(payload, dict) or len(payload.keys() & set(FORMATS)) != 1:
        raise ValueError(f"the body must be a JSON object with exactly one of {', '.join(FORMATS)}")
    kind = next(key for key in payload if key in FORMATS)
    body = payload[kind]
    if kind == "dataframe_split":
        if not isinstance(body, dict) or not isinstance(body.get("columns"), list) or not isinstance(
                body.get("data"), list):  # fmt: skip
            raise ValueError("dataframe_split needs 'columns' (names) and 'data' (rows)")
        names, rows = body["columns"], body["data"]
        if not all(isinstance(row, list) and len(row) == len(names) for row in rows):
            raise ValueError(f"every row of dataframe_split.data must have {len(names)} values, one per column")
        return kind, {"columns": {str(name)[:64]: [row[i] for row in rows] for i, name in enumerate(names)}}
    if isinstance(body, dict):  # inputs/instances as {column: [values]}
        return kind, {"columns": body}
    return kind, body


def validate_json(raw: bytes, max_rows: int) -> tuple[str, BatchRequest]:
    """An MLflow JSON body validated against the contract, or a RequestValidationError located in its format."""
    refuse_long_arrays(raw, max_rows)
    errors: list[dict[str, Any]] | None = None
    try:
        kind, body = as_batch(pydantic_core.from_json(raw))
    except ValueError as exc:  # invalid JSON (recursion limit included) or an unknown shape
        errors = [{"type": "json_invalid", "loc": ("body",), "msg": str(exc)[:300]}]
    if errors is None:
        try:
            return kind, validate_batch_python(body, max_rows)
        except pydantic_core.ValidationError as exc:
            errors = [{**e, "loc": ("body", kind, *e["loc"])} for e in exc.errors(include_input=False)]
    raise RequestValidationError(errors)


def validate_csv(raw: bytes, max_rows: int) -> tuple[str, BatchRequest]:
    """A CSV body validated against the contract. At most `max_rows + 1` rows are ever parsed: pandas stops
    there (`nrows`), so a 100,000-row body costs what 10,001 rows cost before its 413."""
    import pandas as pd  # only CSV requests pay for it (~0.3 s the first time): JSON serving never needs pandas

    errors: list[dict[str, Any]] | None = None
    try:
        frame = pd.read_csv(io.StringIO(raw.decode("utf-8")), dtype=CSV_DTYPES, nrows=max_rows + 1)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        errors = [{"type": "csv_invalid", "loc": ("body",), "msg": f"not a CSV with a header row: {exc}"[:300]}]
    if errors is not None:
        raise RequestValidationError(errors)
    if len(frame) > max_rows:
        raise too_many_rows(max_rows)
    if len(frame.columns) and frame.columns[0] == PANDAS_INDEX:
        frame = frame.drop(columns=PANDAS_INDEX)  # `to_csv()` writes the index first, as MLflow's docs suggest
    columns = {str(name)[:64]: frame[name].tolist() for name in frame.columns}
    del frame
    try:
        return "csv", validate_batch_python({"columns": columns}, max_rows)
    except pydantic_core.ValidationError as exc:
        errors = [{**e, "loc": ("body", "csv", *e["loc"][1:])} for e in exc.errors(include_input=False)]
    raise RequestValidationError(errors)


def _record_list(title: str) -> dict[str, Any]:
    return {"title": title, "type": "array", "items": {"$ref": "#/components/schemas/Record"}}


def _tensor_body(kind: str) -> dict[str, Any]:
    either = [_record_list("records"), {"$ref": "#/components/schemas/Columns"}]
    return {"type": "object", "title": kind, "required": [kind], "additionalProperties": False,
            "properties": {kind: {"description": "records, or one list per feature", "anyOf": either}}}  # fmt: skip


# The four bodies MLflow's scoring server reads, for /docs, generated clients and the fuzzer (the body is read by
# hand, so FastAPI cannot derive it). Every feature is required by name in each.
JSON_REQUEST_SCHEMA: dict[str, Any] = {
    "description": "exactly one of " + ", ".join(FORMATS) + " (MLflow's scoring protocol)",
    "oneOf": [
        {"type": "object", "title": "dataframe_split", "required": ["dataframe_split"], "additionalProperties": False,
         "properties": {"dataframe_split": {
             "type": "object", "required": ["columns", "data"],
             "description": "pandas' `to_dict(orient='split')`: column names, then rows in that column order",
             "properties": {
                 "columns": {"type": "array", "uniqueItems": True, "minItems": len(FEATURE_NAMES),
                             "maxItems": len(FEATURE_NAMES), "items": {"type": "string", "enum": list(FEATURE_NAMES)}},
                 "data": {"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                                     "minItems": len(FEATURE_NAMES), "maxItems": len(FEATURE_NAMES)}},
                 "index": {"type": "array", "description": "ignored"}}}}},
        {"type": "object", "title": "dataframe_records", "required": ["dataframe_records"],
         "additionalProperties": False,
         "properties": {"dataframe_records": {**_record_list("records"),
                                              "description": "pandas' `to_dict(orient='records')`"}}},
        _tensor_body("instances"),
        _tensor_body("inputs"),
    ],
}  # fmt: skip
CSV_EXAMPLE = ",".join(EXAMPLE_RECORD) + "\n" + ",".join(map(str, EXAMPLE_RECORD.values())) + "\n"
CSV_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "string",
    "description": (
        "a header row naming the 13 features, then one row per person (pandas' `to_csv()`; a nameless first column, "
        "the index, is ignored)"
    ),
}
