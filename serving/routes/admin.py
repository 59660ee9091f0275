"""Operator actions. Mounted only when `BODYFAT_SERVING_ADMIN_TOKEN` is set: otherwise a plain 404, not advertised."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from serving.deps import StoreDep, require_admin_token
from serving.schemas import ReloadResponse

router = APIRouter(
    prefix="/admin", tags=["ops"], dependencies=[Depends(require_admin_token)],
    responses={401: {"description": "missing or invalid X-Admin-Token"}},
)  # fmt: skip


@router.post("/reload", response_model=ReloadResponse)
async def admin_reload(store: StoreDep) -> ReloadResponse:
    """Check the champion alias now instead of waiting for the next poll (a registry call: run off the loop)."""
    outcome = await run_in_threadpool(store.refresh, force=True)
    return ReloadResponse(outcome=outcome.outcome, version=outcome.version, source=outcome.source,
                          detail=outcome.detail)  # fmt: skip
