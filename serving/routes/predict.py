"""Prediction endpoints. Handlers are `async def`: a single row costs microseconds to ~1.5 ms, cheaper on the event
loop than a threadpool hop (sync handlers showed p99 100-180 ms at 16 connections, docs/serving.md). Bodies are read
by `serving.body` (bounded bytes and time, after the API-key dependency has run), not by FastAPI."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from serving.body import read_body, refuse_long_arrays, validated
from serving.deps import CurrentModel, MetricsDep, OneRowDep, SettingsDep
from serving.errors import error_responses
from serving.metrics import ServingMetrics
from serving.model_store import LoadedModel
from serving.population import RowWarnings, listed
from serving.prediction_log import ID_HEADER, PredictionLog, PredictionLogDep, rows_entry, single_entry
from serving.responses import JSONBody
from serving.schemas import (
    BATCH_REQUEST_SCHEMA,
    EXAMPLE_RECORD,
    RECORD_ADAPTER,
    BatchResponse,
    ColumnarBatch,
    PredictResponse,
    Record,
    validate_batch_json,
)

router = APIRouter(tags=["predict"], responses=error_responses(400, 408, 413, 415, 422, 503))
# A record is ~200 bytes of JSON; 1 KiB per batch row (and 64 KiB for one record) leaves room for whitespace and
# long decimals while bounding what an unauthenticated or careless client can make the server hold.
BYTES_PER_ROW = 1024
RECORD_MAX_BYTES = 65_536
RECORD_EXAMPLES = {"typical": {"summary": "row 1 of the seed dataset (12.3% measured)", "value": EXAMPLE_RECORD}}
BATCH_EXAMPLES = {
    "records": {"summary": "a list of records", "value": [EXAMPLE_RECORD, {**EXAMPLE_RECORD, "Abdomen": 110.0}]},
    "columns": {
        "summary": "columnar: one list per feature (cheapest to parse)",
        "value": {"columns": {k: [v] for k, v in EXAMPLE_RECORD.items()}},
    },
}


def _json_body(schema: dict[str, Any], examples: dict[str, Any]) -> dict[str, Any]:
    # The body is read by hand, so its schema is declared for /docs, clients and the fuzzer.
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema,
                                                                               "examples": examples}}}}  # fmt: skip


def batch_max_bytes(max_rows: int) -> int:
    return max_rows * BYTES_PER_ROW + RECORD_MAX_BYTES


def prediction_body(model: LoadedModel, value: float) -> dict[str, Any]:
    return {
        "body_fat_pct": value, "interval_low": value - model.half_width, "interval_high": value + model.half_width,
        "model_name": model.name, "model_version": model.version, "model_source": model.source,
    }  # fmt: skip


@router.post(
    "/predict", response_model=PredictResponse,
    openapi_extra=_json_body({"$ref": "#/components/schemas/Record"}, RECORD_EXAMPLES),
)  # fmt: skip
async def predict(request: Request, serving: OneRowDep) -> Response:
    """Predict one record. Every feature is required, finite and inside its schema range."""
    model = serving.model
    raw = await read_body(request, RECORD_MAX_BYTES, serving.settings.body_timeout_s)
    record: Record = validated(lambda: RECORD_ADAPTER.validate_json(raw), raw)
    row = np.array([[record[name] for name in model.features]], dtype=np.float64)
    if model.folded is not None:
        value = float(model.predict(row)[0])  # microseconds: batching would only add overhead
    else:
        value = await serving.batcher.predict_one(model, row)
    warnings = serving.metrics.record_predictions(model, row, np.array([value])).get(0, [])
    pid = single_entry(serving.prediction_log, "/predict", model, record, value)
    # Built directly: FastAPI's response-model re-validation would cost more than a linear prediction.
    return JSONBody({**prediction_body(model, value), "warnings": warnings, "prediction_id": pid},
                    headers={ID_HEADER: pid})


@router.post(
    "/predict/batch", response_model=BatchResponse, openapi_extra=_json_body(BATCH_REQUEST_SCHEMA, BATCH_EXAMPLES)
)
async def predict_batch(request: Request, model: CurrentModel, settings: SettingsDep, metrics: MetricsDep,
                        prediction_log: PredictionLogDep) -> Response:
    """Predict many rows: a JSON list of records, or `{"columns": {feature: [values]}}` (faster to parse)."""
    raw = await read_body(request, batch_max_bytes(settings.max_batch_rows), settings.body_timeout_s)
    # Parsing and validating 10,000 rows takes 15-100 ms: in the threadpool, so single-row requests keep being
    # answered meanwhile (on the loop, one batch client raised single-row p90 from 14 to 132 ms).
    await run_in_threadpool(refuse_long_arrays, raw, settings.max_batch_rows)  # ms, where a parse took seconds
    batch = await run_in_threadpool(validated, partial(validate_batch_json, raw, settings.max_batch_rows), raw)
    del raw
    values, warnings, batch_id, ids = await run_in_threadpool(
        predict_and_log, model, batch.root, metrics, prediction_log, "/predict/batch"
    )
    return JSONBody({**batch_body(model, values), "warnings": listed(warnings), "prediction_ids": ids},
                    headers={ID_HEADER: batch_id})


def batch_body(model: LoadedModel, values: np.ndarray) -> dict[str, Any]:
    return {
        "n": len(values), "body_fat_pct": values.tolist(), "interval_low": (values - model.half_width).tolist(),
        "interval_high": (values + model.half_width).tolist(), "model_name": model.name,
        "model_version": model.version, "model_source": model.source,
    }  # fmt: skip


def predict_and_log(model: LoadedModel, body: Any, metrics: ServingMetrics, prediction_log: PredictionLog,
                    endpoint: str) -> tuple[np.ndarray, RowWarnings, str, list[str]]:  # fmt: skip
    """`predict_rows`, then the rows queued for the prediction log: (predictions, warnings by row, batch id, one id
    per row)."""
    values, warnings = predict_rows(model, body, metrics)
    return values, warnings, *rows_entry(prediction_log, endpoint, model, body, values)


def predict_rows(model: LoadedModel, body: Any, metrics: ServingMetrics | None = None
                 ) -> tuple[np.ndarray, RowWarnings]:  # fmt: skip
    """Rows in the model's feature order, predicted, and recorded in `metrics` (counts, the distributions the
    monitoring alerts watch, and warnings by row). Runs in the threadpool: 10,000 rows may take tens of ms."""
    if isinstance(body, ColumnarBatch):
        rows = np.array([body.columns[name] for name in model.features], dtype=np.float64).T
    else:
        rows = np.array([[rec[name] for name in model.features] for rec in body], dtype=np.float64)
    if len(rows) == 0:
        return np.empty(0), {}
    rows = rows.reshape(len(rows), len(model.features))
    values = model.predict(rows)
    return values, (metrics.record_predictions(model, rows, values) if metrics is not None else {})
