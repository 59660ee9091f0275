"""Prediction endpoints. Handlers are `async def`: a single row costs microseconds to ~1.5 ms, cheaper on the event
loop than a threadpool hop (sync handlers showed p99 100-180 ms at 16 connections, docs/serving.md)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from threadpoolctl import threadpool_limits

from serving.deps import BatcherDep, CurrentModel, MetricsDep, SettingsDep
from serving.model_store import LoadedModel
from serving.schemas import (
    BATCH_REQUEST_SCHEMA,
    EXAMPLE_RECORD,
    BatchRequest,
    BatchResponse,
    ColumnarBatch,
    PredictResponse,
    Record,
)

router = APIRouter(
    tags=["predict"],
    responses={422: {"description": "invalid input; `fields` names the offending features"},
               503: {"description": "no model loaded"}},
)  # fmt: skip
PARALLEL_BATCH_ROWS = 2_000
RECORD_EXAMPLES = {"typical": {"summary": "row 1 of the seed dataset (12.3% measured)", "value": EXAMPLE_RECORD}}
BATCH_EXAMPLES = {
    "records": {"summary": "a list of records", "value": [EXAMPLE_RECORD, {**EXAMPLE_RECORD, "Abdomen": 110.0}]},
    "columns": {
        "summary": "columnar: one list per feature (cheapest to parse)",
        "value": {"columns": {k: [v] for k, v in EXAMPLE_RECORD.items()}},
    },
}


def prediction_body(model: LoadedModel, value: float) -> dict[str, Any]:
    return {
        "body_fat_pct": value, "interval_low": value - model.half_width, "interval_high": value + model.half_width,
        "model_version": model.version, "model_source": model.source,
    }  # fmt: skip


@router.post("/predict", response_model=PredictResponse)
async def predict(
    model: CurrentModel, batcher: BatcherDep, record: Annotated[Record, Body(openapi_examples=RECORD_EXAMPLES)]
) -> Response:
    """Predict one record. Every feature is required, finite and inside its schema range."""
    row = np.array([[record[name] for name in model.features]], dtype=np.float64)
    if model.linear is not None:
        value = float(model.predict(row)[0])  # microseconds: batching would only add overhead
    else:
        value = await batcher.predict_one(model, row)
    # Built directly: FastAPI's response-model re-validation would cost more than a linear prediction.
    return JSONResponse(prediction_body(model, value))


@router.post(
    "/predict/batch",
    response_model=BatchResponse,
    responses={413: {"description": "more rows than BODYFAT_SERVING_MAX_BATCH_ROWS, or a larger body"}},
    # The body is read and validated by hand (below), so its schema is declared here for /docs and clients.
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": BATCH_REQUEST_SCHEMA, "examples": BATCH_EXAMPLES}}}},
)  # fmt: skip
async def predict_batch(request: Request, model: CurrentModel, settings: SettingsDep, metrics: MetricsDep) -> Response:
    """Predict many rows: a JSON list of records, or `{"columns": {feature: [values]}}` (faster to parse)."""
    raw = await request.body()
    context = {"max_rows": settings.max_batch_rows}
    try:
        # pydantic's own JSON parser is ~4x faster than json.loads + validation for columnar bodies; for a list
        # of records json.loads is slightly faster. Python's json also accepts NaN/Infinity, rejected below.
        if raw.lstrip()[:1] == b"[":
            batch = BatchRequest.model_validate(json.loads(raw), context=context)
        else:
            batch = BatchRequest.model_validate_json(raw, context=context)
    except ValueError as exc:  # ValidationError, or json.JSONDecodeError on the records path
        errors = exc.errors() if isinstance(exc, ValidationError) else [
            {"type": "json_invalid", "loc": (), "msg": f"JSON decode error: {exc}"}]  # fmt: skip
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    values = await run_in_threadpool(predict_rows, model, batch.root)
    metrics.predicted_rows.inc(len(values))
    return JSONResponse({
        "n": len(values), "body_fat_pct": values.tolist(), "interval_low": (values - model.half_width).tolist(),
        "interval_high": (values + model.half_width).tolist(), "model_version": model.version,
        "model_source": model.source,
    })  # fmt: skip


def predict_rows(model: LoadedModel, body: Any) -> np.ndarray:
    """Rows in the model's feature order, predicted. Runs in the threadpool: 10,000 rows may take tens of ms."""
    if isinstance(body, ColumnarBatch):
        rows = np.array([body.columns[name] for name in model.features], dtype=np.float64).T
    else:
        rows = np.array([[rec[name] for name in model.features] for rec in body], dtype=np.float64)
    if len(rows) == 0:
        return np.empty(0)
    rows = rows.reshape(len(rows), len(model.features))
    if model.linear is None and len(rows) >= PARALLEL_BATCH_ROWS:
        # Single rows are fastest on one OpenMP thread (the process default); a large tree-model batch is not,
        # and would otherwise lose to `mlflow models serve`, which uses every core for it.
        with threadpool_limits(limits=os.cpu_count() or 1, user_api="openmp"):
            return model.predict(rows)
    return model.predict(rows)
