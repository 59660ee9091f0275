"""FastAPI application factory: `create_app(settings)` wires settings, model store, metrics and routers together.

The routes live in `serving/routes/` (predict, invocations, ops, page, admin) and take what they need through the
`Annotated` dependencies in `serving/deps.py`; speed choices are explained where they are made and measured in
docs/serving.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount

from serving.batching import MicroBatcher
from serving.deps import require_api_key
from serving.errors import error_responses, http_error_response, validation_error_response
from serving.metrics import MetricsMiddleware, ServingMetrics
from serving.model_store import LoadedModel, MlflowSource, ModelSource, ModelStore, load_fallback
from serving.prediction_log import prediction_log_from_settings
from serving.routes import admin, invocations, ops, page, predict, v2
from serving.schemas import BATCH_SCHEMA_DEFS
from serving.settings import ServingSettings
from serving.shadow import ChallengerSource, Shadow

log = logging.getLogger("serving.app")


def route_paths(routes: Iterable[Any]) -> tuple[str, ...]:
    """Every path of these routes and routers, recursively (FastAPI 0.165 keeps an included router as one opaque
    route): the `endpoint` label values of the request metrics. A path outside them is counted as "other", so a scan
    cannot grow the label set. Mounts (static files) are left out: their paths are prefixes."""
    paths: list[str] = []
    for route in routes:
        if isinstance(route, APIRouter):
            paths.extend(route_paths(route.routes))
        elif isinstance(getattr(route, "path", None), str) and not isinstance(route, Mount):
            paths.append(route.path)
    return tuple(dict.fromkeys(paths))


def create_app(
    settings: ServingSettings | None = None,
    source: ModelSource | None = None,
    fallback: Callable[[], LoadedModel] | None = None,
    challenger_source: ModelSource | None = None,
) -> FastAPI:
    """Build the API. `source`/`fallback`/`challenger_source` default to MLflow's champion alias, the bundled model
    and MLflow's challenger alias; tests inject their own."""
    settings = settings or ServingSettings()
    metrics = ServingMetrics()

    def on_refresh(outcome: Any) -> None:
        metrics.record_refresh(outcome)
        metrics.record_model(store.current)

    def registry(injected: ModelSource | None = source, alias: str = settings.model_alias) -> ModelSource:
        return injected or MlflowSource(
            settings.model_name, alias, settings.tracking_uri,
            settings.registry_timeout_s, settings.registry_max_retries, settings.fold_linear,
        )  # fmt: skip

    store = ModelStore(
        registry, fallback=fallback or (lambda: load_fallback(settings.fallback_dir, settings.fold_linear)),
        poll_interval_s=settings.poll_interval_s, on_refresh=on_refresh,
    )  # fmt: skip
    batcher = MicroBatcher(max_rows=settings.micro_batch_max_rows)
    shadow = None
    if settings.shadow_challenger and settings.prediction_log and settings.lake_url:
        challenger_store = ModelStore(
            lambda: ChallengerSource(registry(challenger_source, settings.shadow_alias), lambda: store.current),
            fallback=None, poll_interval_s=settings.poll_interval_s, role=settings.shadow_alias,
        )  # fmt: skip
        shadow = Shadow(challenger_store, metrics.registry)
    elif settings.shadow_challenger:
        log.warning("shadow challenger off: it is logged beside the champion, and the prediction log is off")
    prediction_log = prediction_log_from_settings(settings, metrics.registry, shadow)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        store.start()
        metrics.record_model(store.current)
        if shadow is not None:
            shadow.store.start()  # after the champion's: a challenger naming the champion's version is not loaded
        if settings.micro_batch:
            batcher.start()
        prediction_log.start()
        yield
        await batcher.stop()
        store.stop()
        if shadow is not None:
            shadow.store.stop()
        await asyncio.to_thread(prediction_log.close)  # what is queued is written before the process exits

    # FastAPIOffline serves /docs and /redoc with Swagger UI and ReDoc from the pinned fastapi-offline package:
    # FastAPI's own pages load them from a CDN, blank without internet.
    app = FastAPIOffline(
        title="bodyfat serving API",
        version="1.0.0",
        description="Body-fat percentage from 13 tape-measure features, with a 90% CV+ interval.",
        lifespan=lifespan,
    )
    app.state.settings, app.state.store, app.state.metrics, app.state.batcher = settings, store, metrics, batcher
    app.state.prediction_log, app.state.shadow = prediction_log, shadow
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_exception_handler(StarletteHTTPException, http_error_response)

    routers = [predict.router, invocations.router, invocations.probes, v2.probes, v2.router, ops.router, page.router]
    # The key check is a router dependency, so it runs before any handler reads a byte of the body.
    keyed: dict[str, Any] = (
        {"dependencies": [Depends(require_api_key)], "responses": error_responses(401)} if settings.api_key else {}
    )
    # Prediction routes first: a request is matched against the routes in order (no path is in two routers), and
    # the ops and page routes and the static mount before /predict cost 27 µs of a Ridge request's ~410 µs CPU.
    app.include_router(predict.router, **keyed)
    app.include_router(invocations.router, **keyed)
    app.include_router(invocations.probes)
    app.include_router(v2.router, **keyed)
    app.include_router(v2.probes)
    app.include_router(ops.router)
    app.include_router(page.router)
    app.mount("/static", StaticFiles(directory=page.STATIC_DIR), name="static")
    if settings.admin_token is not None:
        app.include_router(admin.router)
        routers.append(admin.router)

    def openapi() -> dict[str, Any]:
        # Adds the batch body's component schemas, which FastAPI cannot see behind the hand-parsed endpoint.
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {}).update(BATCH_SCHEMA_DEFS)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # FastAPI's documented way to customise the document
    # Added after the last route, so every route is its own `endpoint` label.
    endpoints = route_paths([*app.routes, *routers])
    # V2 paths name the model: labelled as clients send them, with the configured name (any other name is a 404).
    endpoints += tuple(p.replace("{model_name}", settings.model_name) for p in endpoints if "{model_name}" in p)
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=endpoints)
    return app
