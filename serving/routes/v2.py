"""Open Inference Protocol (KServe V2) routes under `/v2`, beside our own: a client written for Triton, MLServer or
KServe switches by URL. The model is called by its registered name (`BODYFAT_MODEL_NAME`, what MLflow clients know
it by) whichever model answers, the fallback included; any other name is a 404. Every error, the API key's 401
included, is the protocol's `{"error": "..."}`. Parsing and validation are in `serving.oip`.

The probes and metadata are open, as `/ready` and `/model` are; inference takes the `/predict` API key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import numpy as np
from bodyfat_contract import FEATURE_NAMES
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from serving.body import read_body
from serving.deps import CurrentModel, MetricsDep, SettingsDep, StoreDep
from serving.metrics import ServingMetrics
from serving.model_store import LoadedModel, readiness
from serving.oip import (
    FEATURE_INDEX,
    HEADER_LENGTH,
    INFER_REQUEST_SCHEMA,
    V2Error,
    infer_response,
    model_metadata,
    parse_infer,
)
from serving.population import listed
from serving.prediction_log import ID_HEADER, PredictionLog, PredictionLogDep, columns_entry
from serving.routes.invocations import API_VERSION
from serving.routes.predict import batch_max_bytes

_ERROR = {"description": "the protocol's error body", "content": {"application/json": {"schema": {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}  # fmt: skip


class V2Route(APIRoute):
    """A route whose errors, from its dependencies too, are the protocol's `{"error": message}`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def v2_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except V2Error as exc:
                return JSONResponse({"error": exc.message}, exc.status)
            except HTTPException as exc:
                return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)

        return v2_handler


probes = APIRouter(prefix="/v2", tags=["v2"], route_class=V2Route, responses={404: _ERROR, 503: _ERROR})
router = APIRouter(prefix="/v2", tags=["v2"], route_class=V2Route,
                   responses=dict.fromkeys((400, 401, 404, 408, 413, 415, 503), _ERROR))  # fmt: skip


async def served_model(model_name: str, settings: SettingsDep, model: CurrentModel) -> LoadedModel:
    """The model being served, if the URL names it."""
    if model_name != settings.model_name:
        raise V2Error(404, f"unknown model {model_name[:64]!r}: this server serves {settings.model_name!r}")
    return model


Served = Annotated[LoadedModel, Depends(served_model)]


async def served_version(version: str, model: Served) -> LoadedModel:
    """The model being served, if the URL names its version: one version is served at a time."""
    if version != model.version:
        raise V2Error(404, f"version {version[:64]!r} is not served; version {model.version!r} is")
    return model


ServedVersion = Annotated[LoadedModel, Depends(served_version)]


@probes.get("/health/live")
async def live() -> dict[str, bool]:
    return {"live": True}


@probes.get("/health/ready")
async def ready(store: StoreDep) -> JSONResponse:
    """Ready as `/ready` says it: 503 with no model, or on the fallback because the registry failed."""
    code, _status, _reason = readiness(store.current, store.last_outcome)
    return JSONResponse({"ready": code == 200}, code)


@probes.get("")
async def server_metadata() -> dict[str, Any]:
    return {"name": "bodyfat", "version": API_VERSION, "extensions": ["binary_tensor_data"]}


@probes.get("/models/{model_name}")
async def metadata(model: Served, settings: SettingsDep) -> dict[str, Any]:
    """Inputs: the contract's 13 features, FP64 (or one [n, 13] input in that order); outputs prediction, lower,
    upper (the 90% interval)."""
    return model_metadata(settings.model_name, model.version)


@probes.get("/models/{model_name}/versions/{version}")
async def version_metadata(model: ServedVersion, settings: SettingsDep) -> dict[str, Any]:
    return model_metadata(settings.model_name, model.version)


@probes.get("/models/{model_name}/ready")
async def model_ready(model: Served, settings: SettingsDep) -> dict[str, Any]:
    """A loaded model answers: it was warmed up before it took traffic."""
    return {"name": settings.model_name, "ready": True}


@probes.get("/models/{model_name}/versions/{version}/ready")
async def version_ready(model: ServedVersion, settings: SettingsDep) -> dict[str, Any]:
    return {"name": settings.model_name, "ready": True}


def _answer(raw: bytes, header_length: str | None, model: LoadedModel, name: str, max_rows: int,
            metrics: ServingMetrics, prediction_log: PredictionLog,
            endpoint: str) -> tuple[bytes, int | None, str]:  # fmt: skip
    """(body, JSON header length when binary outputs follow, the batch's prediction id)."""
    request = parse_infer(raw, header_length, max_rows)
    columns = [FEATURE_INDEX[feature] for feature in model.features]
    rows = request.rows[:, columns]
    values = model.predict(rows) if len(rows) else np.empty(0)
    warnings = metrics.record_predictions(model, rows, values) if len(rows) else {}
    # The protocol's response has no place for per-row ids: the batch id rides in the header (rows are <id>-<row>).
    received = {feature: request.rows[:, j].tolist() for j, feature in enumerate(FEATURE_NAMES)}
    batch_id, _ = columns_entry(prediction_log, endpoint, model, received, values)
    return *infer_response(request, name, model.version, values, model.half_width, listed(warnings)), batch_id


async def _infer(request: Request, model: LoadedModel, settings: SettingsDep, metrics: MetricsDep,
                 prediction_log: PredictionLogDep) -> Response:
    raw = await read_body(request, batch_max_bytes(settings.max_batch_rows), settings.body_timeout_s)
    # Parsing, validating and predicting 10,000 rows takes tens of ms: in the threadpool, as /predict/batch does.
    body, header_length, batch_id = await run_in_threadpool(
        _answer, raw, request.headers.get(HEADER_LENGTH), model, settings.model_name, settings.max_batch_rows, metrics,
        prediction_log, f"/v2/models/{settings.model_name}/infer",
    )  # fmt: skip
    if header_length is None:
        return Response(body, media_type="application/json", headers={ID_HEADER: batch_id})
    return Response(body, media_type="application/octet-stream",
                    headers={HEADER_LENGTH: str(header_length), ID_HEADER: batch_id})  # fmt: skip


_INFER = {"openapi_extra": {"requestBody": {"required": True, "content": {
    "application/json": {"schema": INFER_REQUEST_SCHEMA}}}}}  # fmt: skip


@router.post("/models/{model_name}/infer", **_INFER)
async def infer(request: Request, model: Served, settings: SettingsDep, metrics: MetricsDep,
                prediction_log: PredictionLogDep) -> Response:
    """Predict: one FP64 input per feature ([n] or [n, 1]) or one [n, 13] input; JSON or binary tensor data."""
    return await _infer(request, model, settings, metrics, prediction_log)


@router.post("/models/{model_name}/versions/{version}/infer", **_INFER)
async def version_infer(request: Request, model: ServedVersion, settings: SettingsDep, metrics: MetricsDep,
                        prediction_log: PredictionLogDep) -> Response:
    return await _infer(request, model, settings, metrics, prediction_log)
