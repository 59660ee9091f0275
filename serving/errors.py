"""Error bodies. Every error is JSON with a stable `code`; a validation error names the field it is about; echoed
input is truncated (a 1 MB unknown key once came back as a 3 MB response)."""

from __future__ import annotations

from typing import Any

from bodyfat_contract import FEATURES_BY_NAME
from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

MAX_ERRORS_SHOWN = 20
MAX_ECHO_CHARS = 64
BATCH_TOO_LARGE = "batch_too_large"
COLUMNS_UNEQUAL = "columns_unequal"
CODE_BY_STATUS = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 408: "body_timeout",
    413: "body_too_large", 415: "unsupported_media_type", 503: "no_model",
}  # fmt: skip


class ApiError(HTTPException):
    """An HTTP error with a stable machine-readable `code`."""

    def __init__(self, status_code: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code, detail, headers)
        self.code = code


class ErrorBody(BaseModel):
    code: str = Field(description="stable, machine-readable: body_too_large, unauthorized, no_model, ...")
    detail: str


class FieldError(BaseModel):
    field: str | None = Field(description="the feature (or body key) the error is about; null for the whole body")
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    code: str = Field(description="validation_error or invalid_json")
    detail: list[FieldError]
    fields: list[str]
    error_count: int


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, with their bodies."""
    described = {
        400: "the client disconnected mid-body", 401: "missing or invalid credentials",
        408: "the body was not received in time", 413: "body or batch larger than the configured limit",
        415: "a compressed body (Content-Encoding) or an unsupported content type",
        422: "invalid input; `fields` names the offending features", 503: "no model loaded",
    }  # fmt: skip
    return {
        status: {"description": described[status], "model": ValidationErrorBody if status == 422 else ErrorBody}
        for status in statuses
    }


def _truncate(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_ECHO_CHARS:
        return value[:MAX_ECHO_CHARS] + "…"
    return value


def field_of(loc: tuple[Any, ...]) -> str | None:
    """The feature (or body key) an error is about: the last named element of its location."""
    names = [part for part in loc if isinstance(part, str) and part != "body"]
    features = [part for part in names if part in FEATURES_BY_NAME]
    return _truncate((features or names or [None])[-1])


def _described(error: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == COLUMNS_UNEQUAL:  # the model-level check knows which column is short
        loc = (*loc, "columns", error["ctx"]["column"])
    return {"field": field_of(loc), "loc": [_truncate(part) for part in loc],
            "msg": str(error.get("msg"))[:300],
            "type": error.get("type")}  # fmt: skip


async def validation_error_response(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == BATCH_TOO_LARGE for e in errors):
        message = next(e["msg"] for e in errors if e.get("type") == BATCH_TOO_LARGE)
        return JSONResponse({"code": BATCH_TOO_LARGE, "detail": message}, 413)
    detail = [_described(e) for e in errors[:MAX_ERRORS_SHOWN]]
    fields = sorted({d["field"] for d in detail if d["field"]})
    code = "invalid_json" if any(e.get("type") == "json_invalid" for e in errors) else "validation_error"
    # No "input" echo: for a batch it could be megabytes, and the location already says which value failed.
    return JSONResponse({"code": code, "detail": detail, "fields": fields, "error_count": len(errors)}, 422)


async def http_error_response(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = getattr(exc, "code", None) or CODE_BY_STATUS.get(exc.status_code, "error")
    return JSONResponse({"code": code, "detail": exc.detail}, exc.status_code, headers=exc.headers)
