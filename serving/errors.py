"""Error bodies: every 4xx is JSON, and a validation error names the field it is about."""

from __future__ import annotations

from typing import Any

from bodyfat_contract import FEATURES_BY_NAME
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import Request

from serving.schemas import BATCH_TOO_LARGE

MAX_ERRORS_SHOWN = 20


def field_of(loc: tuple[Any, ...]) -> str | None:
    """The feature (or body key) an error is about: the last named element of its location."""
    names = [part for part in loc if isinstance(part, str) and part != "body"]
    features = [part for part in names if part in FEATURES_BY_NAME]
    return (features or names or [None])[-1]


async def validation_error_response(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == BATCH_TOO_LARGE for e in errors):
        return JSONResponse({"detail": next(e["msg"] for e in errors if e.get("type") == BATCH_TOO_LARGE)}, 413)
    detail = [
        {"field": field_of(tuple(e.get("loc", ()))), "loc": list(e.get("loc", ())), "msg": e.get("msg"),
         "type": e.get("type")}
        for e in errors[:MAX_ERRORS_SHOWN]
    ]  # fmt: skip
    fields = sorted({d["field"] for d in detail if d["field"]})
    # No "input" echo: for a batch it could be megabytes, and the location already says which value failed.
    return JSONResponse({"detail": detail, "fields": fields, "error_count": len(errors)}, 422)
