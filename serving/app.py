"""FastAPI application factory: `create_app(settings)`.

Speed choices, all measured (see docs/serving.md): predict handlers are `async def`, so a request never waits for a
threadpool slot; a single record becomes a 1-row numpy array in the model's feature order (no pandas); responses are
built as `JSONResponse`s directly, skipping FastAPI's response-model re-validation; metrics use a pure ASGI
middleware. The batch handler validates the raw bytes with pydantic's JSON parser (a 10,000-row columnar body: ~13 ms
instead of ~48 ms through `json.loads` + validation) and predicts in the threadpool, so a large batch does not stall
the event loop for concurrent single-row requests.
"""

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import numpy as np
from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from bodyfat_assets.core.schema import FEATURES_BY_NAME
from serving.batching import MicroBatcher
from serving.metrics import MetricsMiddleware, ServingMetrics
from serving.model_store import LoadedModel, MlflowSource, ModelSource, ModelStore, load_fallback
from serving.schemas import (
    BATCH_TOO_LARGE,
    EXAMPLE_RECORD,
    BatchResponse,
    ColumnarBatch,
    ModelInfo,
    PredictResponse,
    ReadyResponse,
    Record,
    ReloadResponse,
    batch_request_model,
)
from serving.settings import ServingSettings

log = logging.getLogger("serving")
ENDPOINTS = ("/health", "/ready", "/model", "/predict", "/predict/batch", "/metrics", "/admin/reload", "/docs")
# A record is ~200 bytes of JSON; 1 KiB per row leaves room for whitespace and long decimals.
BYTES_PER_ROW = 1024
MAX_ERRORS_SHOWN = 20
PARALLEL_BATCH_ROWS = 2_000
BATCH_EXAMPLES = {
    "records": {"summary": "a list of records", "value": [EXAMPLE_RECORD, {**EXAMPLE_RECORD, "Abdomen": 110.0}]},
    "columns": {
        "summary": "columnar: one list per feature (cheapest to parse)",
        "value": {"columns": {k: [v] for k, v in EXAMPLE_RECORD.items()}},
    },
}
RECORD_EXAMPLES = {"typical": {"summary": "row 1 of the seed dataset (12.3% measured)", "value": EXAMPLE_RECORD}}


class BodyLimitMiddleware:
    """Refuse an announced oversized body (Content-Length) with 413 before reading or parsing any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    await JSONResponse({"detail": f"body exceeds {self.max_bytes} bytes"}, 413)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _field_of(loc: tuple[Any, ...]) -> str | None:
    """The feature (or body key) an error is about: the last named element of its location."""
    names = [part for part in loc if isinstance(part, str) and part != "body"]
    features = [part for part in names if part in FEATURES_BY_NAME]
    return (features or names or [None])[-1]


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == BATCH_TOO_LARGE for e in errors):
        return JSONResponse({"detail": next(e["msg"] for e in errors if e.get("type") == BATCH_TOO_LARGE)}, 413)
    detail = [
        {"field": _field_of(tuple(e.get("loc", ()))), "loc": list(e.get("loc", ())), "msg": e.get("msg"),
         "type": e.get("type")}
        for e in errors[:MAX_ERRORS_SHOWN]
    ]  # fmt: skip
    fields = sorted({d["field"] for d in detail if d["field"]})
    # No "input" echo: for a batch it could be megabytes, and the location already says which value failed.
    return JSONResponse({"detail": detail, "fields": fields, "error_count": len(errors)}, 422)


def _model_or_503(request: Request) -> LoadedModel:
    model: LoadedModel | None = request.app.state.store.current
    if model is None:
        raise HTTPException(503, "no model loaded")
    return model


def _api_key_dependency(expected: str) -> Callable[..., None]:
    def require_api_key(x_api_key: Annotated[str | None, Header()] = None) -> None:
        if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), expected.encode()):
            raise HTTPException(401, "missing or invalid X-API-Key", headers={"WWW-Authenticate": "ApiKey"})

    return require_api_key


def create_app(
    settings: ServingSettings | None = None,
    source: ModelSource | None = None,
    fallback: Callable[[], LoadedModel] | None = None,
) -> FastAPI:
    """Build the API. `source`/`fallback` default to MLflow and the bundled model; tests inject their own."""
    settings = settings or ServingSettings()
    metrics = ServingMetrics()
    BatchRequest = batch_request_model(settings.max_batch_rows)

    def on_refresh(outcome: Any) -> None:
        metrics.record_refresh(outcome)
        metrics.record_model(store.current)

    def make_source() -> ModelSource:
        return source or MlflowSource(
            settings.model_name, settings.model_alias, settings.tracking_uri,
            settings.registry_timeout_s, settings.registry_max_retries, settings.fold_linear,
        )  # fmt: skip

    store = ModelStore(
        source=None, fallback=fallback or (lambda: load_fallback(settings.fallback_dir, settings.fold_linear)),
        poll_interval_s=settings.poll_interval_s, on_refresh=on_refresh,
    )  # fmt: skip

    batcher = MicroBatcher(max_rows=settings.micro_batch_max_rows)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            store._source = make_source()
        except Exception:  # a misconfigured registry must still leave the fallback serving
            log.exception("model registry client could not be created; serving the fallback only")
        store.start()
        metrics.record_model(store.current)
        if settings.micro_batch:
            batcher.start()
        yield
        await batcher.stop()
        store.stop()

    app = FastAPI(
        title="bodyfat serving API",
        version="1.0.0",
        description="Body-fat percentage from 13 tape-measure features, with a 90% split-conformal interval.",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.batcher = batcher
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_batch_rows * BYTES_PER_ROW + 65_536)
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=ENDPOINTS)
    app.add_exception_handler(RequestValidationError, lambda _req, exc: _validation_response(exc))

    predict_deps = [Depends(_api_key_dependency(settings.api_key.get_secret_value()))] if settings.api_key else []
    errors_doc: dict[int | str, dict[str, Any]] = {
        422: {"description": "invalid input; `fields` names the offending features"},
        503: {"description": "no model loaded"},
    }
    if settings.api_key:
        errors_doc[401] = {"description": "missing or invalid X-API-Key"}

    @app.get("/health", tags=["ops"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers. Says nothing about the model (see /ready)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["ops"], response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
    async def ready() -> JSONResponse:
        """200 once a model (registry champion or bundled fallback) is loaded; the body says which."""
        model = store.current
        last = store.last_outcome
        body = {
            "status": "ready" if model else "not_ready",
            "source": model.source if model else None,
            "version": model.version if model else None,
            "last_check": None if last is None else {
                "outcome": last.outcome, "detail": last.detail, "checked_at": last.checked_at,
            },
        }  # fmt: skip
        return JSONResponse(body, 200 if model else 503)

    @app.get("/model", tags=["model"], response_model=ModelInfo, responses={503: {"description": "no model"}})
    async def model_info(request: Request) -> ModelInfo:
        """The model being served: identity, test metrics, interval width, features with units and ranges."""
        model = _model_or_503(request)
        return ModelInfo(
            name=model.name, version=model.version, alias=model.alias, source=model.source, run_id=model.run_id,
            family=model.family, trained_at=model.trained_at, interval_half_width_90=model.half_width,
            metrics=dict(model.metrics),
            features=[{"name": f.name, "unit": f.unit, "low": f.low, "high": f.high, "description": f.description}
                      for f in (FEATURES_BY_NAME[name] for name in model.features)],
        )  # fmt: skip

    @app.post(
        "/predict", tags=["predict"], response_model=PredictResponse, responses=errors_doc, dependencies=predict_deps
    )
    async def predict(request: Request, record: Annotated[Record, Body(openapi_examples=RECORD_EXAMPLES)]) -> Response:
        """Predict one record. Every feature is required, finite and inside its schema range."""
        model = _model_or_503(request)  # one reference for the whole request: a swap cannot change it midway
        row = np.array([[record[name] for name in model.features]], dtype=np.float64)
        if model.linear is not None:
            value = float(model.predict(row)[0])  # microseconds: batching would only add overhead
        else:
            value = await batcher.predict_one(model, row)
        return JSONResponse({
            "body_fat_pct": value, "interval_low": value - model.half_width, "interval_high": value + model.half_width,
            "model_version": model.version, "model_source": model.source,
        })  # fmt: skip

    batch_schema = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    batch_defs = batch_schema.pop("$defs", {})

    @app.post(
        "/predict/batch",
        tags=["predict"],
        response_model=BatchResponse,
        responses={**errors_doc, 413: {"description": f"more than {settings.max_batch_rows} rows"}},
        dependencies=predict_deps,
        # The body is read and validated by hand (see below), so its schema is declared here for /docs and clients.
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
            "schema": batch_schema, "examples": BATCH_EXAMPLES}}}},
    )  # fmt: skip
    async def predict_batch(request: Request) -> Response:
        """Predict many rows: a JSON list of records, or `{"columns": {feature: [values]}}` (faster to parse)."""
        model = _model_or_503(request)
        raw = await request.body()
        try:
            # pydantic's own JSON parser is ~4x faster than json.loads + validation for columnar bodies; for a list
            # of records json.loads is slightly faster. Python's json also accepts NaN/Infinity, rejected below.
            if raw.lstrip()[:1] == b"[":
                batch = BatchRequest.model_validate(json.loads(raw))
            else:
                batch = BatchRequest.model_validate_json(raw)
        except ValueError as exc:  # ValidationError, or json.JSONDecodeError on the records path
            errors = exc.errors() if isinstance(exc, ValidationError) else [
                {"type": "json_invalid", "loc": (), "msg": f"JSON decode error: {exc}"}]  # fmt: skip
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
        values = await run_in_threadpool(_predict_rows, model, batch.root)
        metrics.predicted_rows.inc(len(values))
        return JSONResponse({
            "n": len(values), "body_fat_pct": values.tolist(), "interval_low": (values - model.half_width).tolist(),
            "interval_high": (values + model.half_width).tolist(), "model_version": model.version,
            "model_source": model.source,
        })  # fmt: skip

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus exposition: request counts and latency by endpoint, model version, refresh outcomes."""
        metrics.record_model(store.current)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if settings.admin_token is not None:
        admin_token = settings.admin_token.get_secret_value()

        # Registered only with a token configured: otherwise /admin/reload is a plain 404, not even advertised.
        @app.post("/admin/reload", tags=["ops"], response_model=ReloadResponse,
                  responses={401: {"description": "missing or invalid X-Admin-Token"}})  # fmt: skip
        def admin_reload(x_admin_token: Annotated[str | None, Header()] = None) -> ReloadResponse:
            """Check the champion alias now (blocking), instead of waiting for the next poll."""
            if x_admin_token is None or not secrets.compare_digest(x_admin_token.encode(), admin_token.encode()):
                raise HTTPException(401, "missing or invalid X-Admin-Token")
            outcome = store.refresh()
            return ReloadResponse(
                outcome=outcome.outcome, version=outcome.version, source=outcome.source, detail=outcome.detail
            )

    def openapi() -> dict[str, Any]:
        # Adds the batch body's component schemas, which FastAPI cannot see behind the hand-parsed endpoint.
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {}).update(batch_defs)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi
    return app


def _predict_rows(model: LoadedModel, body: Any) -> np.ndarray:
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
