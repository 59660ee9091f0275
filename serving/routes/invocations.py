"""MLflow's scoring protocol, so a client written for `mlflow models serve` switches by changing the URL.

`POST /invocations` takes MLflow's JSON bodies (`dataframe_split`, `dataframe_records`, `inputs`, `instances`) and
answers `{"predictions": [...]}`, as the MLflow scoring server does; `/ping` and `/version` are what MLflow's
client polls. Rows are validated against the same contract as `/predict/batch`; a bad value is a 400 in MLflow's
error shape (`error_code`, `message`) that also names the field. Intervals and the model version stay on our own
endpoints: MLflow's response has no place for them.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from serving.body import read_body
from serving.deps import CurrentModel, MetricsDep, SettingsDep
from serving.errors import error_responses, validation_error_response
from serving.prediction_log import ID_HEADER, PredictionLogDep
from serving.routes.predict import batch_max_bytes, predict_and_log
from serving.schemas import validate_batch_python

router = APIRouter(tags=["mlflow"])
# Probes stay open, as in `mlflow models serve`: MLflow's client polls /ping without credentials before scoring.
probes = APIRouter(tags=["mlflow"])
FORMATS = ("dataframe_split", "dataframe_records", "inputs", "instances")
API_VERSION = "1.0.0"


@probes.get("/ping", response_class=PlainTextResponse)
async def ping(model: CurrentModel) -> str:
    """MLflow's readiness probe: 200 once a model is loaded."""
    return "\n"


@probes.get("/version", response_class=PlainTextResponse)
async def version() -> str:
    return API_VERSION


def _as_batch(payload: Any) -> tuple[str, Any]:
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


def _validate(raw: bytes, max_rows: int) -> tuple[str, Any]:
    errors: list[dict[str, Any]] | None = None
    try:
        kind, body = _as_batch(pydantic_core.from_json(raw))
    except ValueError as exc:  # invalid JSON (recursion limit included) or an unknown shape
        errors = [{"type": "json_invalid", "loc": ("body",), "msg": str(exc)[:300]}]
    if errors is None:
        try:
            return kind, validate_batch_python(body, max_rows)
        except pydantic_core.ValidationError as exc:
            errors = [{**e, "loc": ("body", kind, *e["loc"])} for e in exc.errors(include_input=False)]
    raise RequestValidationError(errors)


@router.post(
    "/invocations",
    responses={**error_responses(408, 413, 415, 503), 400: {"description": "invalid input, in MLflow's shape"}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "one of " + ", ".join(FORMATS) + " (MLflow's scoring protocol)"}}}}},
)  # fmt: skip
async def invocations(request: Request, model: CurrentModel, settings: SettingsDep, metrics: MetricsDep,
                      prediction_log: PredictionLogDep) -> Response:
    """MLflow-compatible scoring: `{"dataframe_split": {"columns": [...], "data": [[...]]}}` and friends."""
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        return JSONResponse({"error_code": "BAD_REQUEST", "code": "unsupported_media_type",
                             "message": "only application/json is accepted"}, 415)  # fmt: skip
    raw = await read_body(request, batch_max_bytes(settings.max_batch_rows), settings.body_timeout_s)
    try:
        _kind, batch = await run_in_threadpool(_validate, raw, settings.max_batch_rows)
    except RequestValidationError as exc:
        ours = await validation_error_response(request, exc)
        return _mlflow_error(ours)
    finally:
        del raw
    values, batch_id, ids = await run_in_threadpool(
        predict_and_log, model, batch.root, metrics, prediction_log, "/invocations"
    )
    # MLflow's clients read `predictions` only; the ids ride beside it.
    return JSONResponse({"predictions": values.tolist(), "prediction_ids": ids}, headers={ID_HEADER: batch_id})


def _mlflow_error(ours: JSONResponse) -> JSONResponse:
    """Our validation body with MLflow's `error_code`/`message` added; 400 as MLflow answers bad input."""
    body = json.loads(ours.body)
    if ours.status_code == 413:
        return JSONResponse({"error_code": "BAD_REQUEST", "message": body["detail"], **body}, 413)
    first = body["detail"][0] if body["detail"] else {"msg": "invalid input"}
    where = f" (field {first['field']})" if first.get("field") else ""
    return JSONResponse({"error_code": "BAD_REQUEST", "message": f"{first['msg']}{where}", **body}, 400)
