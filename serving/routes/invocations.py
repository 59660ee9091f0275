"""MLflow's scoring protocol, so a client written for `mlflow models serve` switches by changing the URL.

`POST /invocations` takes MLflow's JSON bodies (`dataframe_split`, `dataframe_records`, `inputs`, `instances`) and
CSV (`text/csv`), and answers `{"predictions": [...]}`, as the MLflow scoring server does; `/ping` and `/version` are
what MLflow's client polls. Rows are validated against the same contract as `/predict/batch`; a bad value is a 400
in MLflow's error shape (`error_code`, `message`) that also names the field. Intervals and the model version stay
on our own endpoints: MLflow's response has no place for them. The parsing is in `serving.mlflow_protocol`.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from serving.body import read_body
from serving.deps import CurrentModel, MetricsDep, SettingsDep
from serving.errors import ApiError, error_responses, validation_error_response
from serving.mlflow_protocol import (
    CSV,
    CSV_EXAMPLE,
    CSV_REQUEST_SCHEMA,
    JSON_REQUEST_SCHEMA,
    media_type,
    validate_csv,
    validate_json,
)
from serving.population import listed
from serving.prediction_log import ID_HEADER, PredictionLogDep
from serving.responses import JSONBody
from serving.routes.predict import batch_max_bytes, predict_and_log

router = APIRouter(tags=["mlflow"])
# Probes stay open, as in `mlflow models serve`: MLflow's client polls /ping without credentials before scoring.
probes = APIRouter(tags=["mlflow"])
API_VERSION = "1.0.0"


@probes.get("/ping", response_class=PlainTextResponse)
async def ping(model: CurrentModel) -> str:
    """MLflow's readiness probe: 200 once a model is loaded."""
    return "\n"


@probes.get("/version", response_class=PlainTextResponse)
async def version() -> str:
    return API_VERSION


@router.post(
    "/invocations",
    responses={**error_responses(408, 413, 415, 503), 400: {"description": "invalid input, in MLflow's shape"}},
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": JSON_REQUEST_SCHEMA},
        CSV: {"schema": CSV_REQUEST_SCHEMA, "example": CSV_EXAMPLE}}}},
)  # fmt: skip
async def invocations(request: Request, model: CurrentModel, settings: SettingsDep, metrics: MetricsDep,
                      prediction_log: PredictionLogDep) -> Response:
    """MLflow-compatible scoring: `{"dataframe_split": {"columns": [...], "data": [[...]]}}` and friends, or CSV.
    Without a Content-Type the body is read as JSON."""
    try:
        mime = media_type(request.headers.get("content-type"))
    except ApiError as exc:
        return JSONResponse({"error_code": "BAD_REQUEST", "code": exc.code, "message": exc.detail}, 415)
    raw = await read_body(request, batch_max_bytes(settings.max_batch_rows), settings.body_timeout_s)
    try:
        _kind, batch = await run_in_threadpool(validate_csv if mime == CSV else validate_json, raw,
                                               settings.max_batch_rows)  # fmt: skip
    except RequestValidationError as exc:
        ours = await validation_error_response(request, exc)
        return _mlflow_error(ours)
    finally:
        del raw
    values, warnings, batch_id, ids = await run_in_threadpool(
        predict_and_log, model, batch.root, metrics, prediction_log, "/invocations"
    )
    # MLflow's clients read `predictions` only; the ids and warnings ride beside it.
    return JSONBody({"predictions": values.tolist(), "warnings": listed(warnings), "prediction_ids": ids},
                    headers={ID_HEADER: batch_id})


def _mlflow_error(ours: JSONResponse) -> JSONResponse:
    """Our validation body with MLflow's `error_code`/`message` added; 400 as MLflow answers bad input."""
    body = json.loads(ours.body)
    if ours.status_code == 413:
        return JSONResponse({"error_code": "BAD_REQUEST", "message": body["detail"], **body}, 413)
    first = body["detail"][0] if body["detail"] else {"msg": "invalid input"}
    where = f" (field {first['field']})" if first.get("field") else ""
    return JSONResponse({"error_code": "BAD_REQUEST", "message": f"{first['msg']}{where}", **body}, 400)
