"""Operational endpoints: liveness, readiness, the model card, Prometheus metrics. Always open (probes, scrapers)."""

from __future__ import annotations

from bodyfat_contract import FEATURES_BY_NAME
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from serving.deps import CurrentModel, MetricsDep, StoreDep
from serving.model_store import readiness
from serving.prediction_log import PredictionLogDep
from serving.schemas import FeatureInfo, ModelInfo, ReadyResponse
from serving.shadow import ShadowDep

router = APIRouter()


@router.head("/health", include_in_schema=False)  # uptime monitors probe with HEAD
@router.get("/health", tags=["ops"])
async def health() -> dict[str, str]:
    """Liveness: the process answers. Says nothing about the model (see /ready)."""
    return {"status": "ok"}


@router.get("/ready", tags=["ops"], response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
async def ready(store: StoreDep, prediction_log: PredictionLogDep, shadow: ShadowDep) -> JSONResponse:
    """200 with the registry champion, or with the bundled fallback by design (no champion yet); 503 `degraded`
    when the fallback serves because the registry failed (`registry_error`) or its champion was refused
    (`champion_rejected`), 503 `not_ready` with no model at all. `warming` names the version being loaded and warmed
    up while the current one keeps serving; `shadow` the challenger scoring logged predictions, when on."""
    model, last = store.current, store.last_outcome
    code, status, reason = readiness(model, last)
    body = {
        "status": status,
        "reason": reason,
        "source": model.source if model else None,
        "version": model.version if model else None,
        "warming": store.warming,
        "last_check": None if last is None else {
            "outcome": last.outcome, "detail": last.detail, "checked_at": last.checked_at,
        },
        "prediction_log": prediction_log.details(),
        "shadow": shadow.details() if shadow is not None else {"enabled": False},
    }  # fmt: skip
    return JSONResponse(body, code)


@router.get("/model", tags=["model"], response_model=ModelInfo, responses={503: {"description": "no model"}})
async def model_info(model: CurrentModel) -> ModelInfo:
    """The model being served: identity, test metrics, interval width, features with units and ranges."""
    return ModelInfo(
        name=model.name, version=model.version, alias=model.alias, source=model.source, run_id=model.run_id,
        family=model.family, trained_at=model.trained_at, interval_half_width_90=model.half_width,
        metrics=dict(model.metrics),
        features=[FeatureInfo(name=f.name, unit=f.unit, low=f.low, high=f.high, description=f.description)
                  for f in (FEATURES_BY_NAME[name] for name in model.features)],
    )  # fmt: skip


@router.get("/metrics", tags=["ops"], response_class=Response)
async def prometheus_metrics(metrics: MetricsDep, store: StoreDep) -> Response:
    """Prometheus exposition: request counts and latency by endpoint, model version, refresh outcomes."""
    metrics.record_model(store.current)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
