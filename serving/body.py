"""Reading and validating request bodies with bounded memory and time.

Bodies are read by hand rather than through FastAPI's `Body()` parameters for three reasons, each found by a
probe: FastAPI reads the body *before* running dependencies (so the API key was checked after up to 200 MB had
been buffered); it trusts `Content-Length` only, so a chunked body was read in full; and `json.loads` raised
`RecursionError` (a plain-text 500) on a 2 KB array nested 1,000 deep. Here the byte count is enforced on the
received stream, the whole read has a deadline, and pydantic's JSON parser (recursion limit 200, no `RecursionError`)
validates the bytes directly. Validation errors are returned without the input, and the raw bytes are released
before an error is raised, so a rejected body does not outlive its request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from serving.errors import BATCH_TOO_LARGE, ApiError

IDENTITY_ENCODINGS = {b"", b"identity"}
T = TypeVar("T")


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The request body, or a 413 as soon as more than `max_bytes` arrived, or a 408 after `timeout_s`."""
    headers = request.headers
    if headers.get("content-encoding", "").strip().lower().encode() not in IDENTITY_ENCODINGS:
        raise ApiError(415, "unsupported_encoding", "send the body uncompressed (no Content-Encoding)")
    length = headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise ApiError(413, "body_too_large", f"body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    chunks.clear()
                    raise ApiError(413, "body_too_large", f"body exceeds {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        chunks.clear()
        raise ApiError(408, "body_timeout", f"body not received within {timeout_s:g} s") from None
    except ClientDisconnect:
        chunks.clear()
        raise ApiError(400, "client_disconnected", "the client closed the connection mid-body") from None
    return b"".join(chunks)


def validated(parse: Callable[[], T], raw: bytes) -> T:
    """`parse()` (which validates `raw`), raising a RequestValidationError that holds neither the input nor the
    original exception (whose `input` would keep a multi-megabyte body alive until a cyclic GC)."""
    errors: list[dict[str, Any]] | None = None
    try:
        return parse()
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
    located = [{**e, "loc": ("body", *e["loc"], *_json_error_key(raw, e))} for e in errors]
    # Raised outside the except block, so the new exception's __context__ is not the ValidationError.
    raise RequestValidationError(located)


_POSITION = re.compile(r"at line (\d+) column (\d+)")
_KEY = re.compile(rb'"([^"\\]{1,64})"\s*:\s*')


def _json_error_key(raw: bytes, error: dict[str, Any]) -> tuple[str, ...]:
    """For a JSON syntax error (e.g. a 5,000-digit number, which the parser refuses as out of range), the object key
    just before the error position: the field the bad value belongs to. Looks back at most 8 KiB."""
    match = _POSITION.search(str(error.get("msg", ""))) if error.get("type") == "json_invalid" else None
    if match is None:
        return ()
    line, column = int(match.group(1)), int(match.group(2))
    start = 0  # offset of the error's line, found without copying the body
    for _ in range(line - 1):
        start = raw.find(b"\n", start) + 1
    offset = start + column
    keys = _KEY.findall(raw[max(0, offset - 8192) : offset])
    return (keys[-1].decode("utf-8", "replace"),) if keys else ()


# Everything but JSON's structure: deleted in one C-level pass, so the scan below reads ~1 byte per value.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b"[]{},"))
_FLAT_ARRAY = re.compile(rb"\[,*\]")
_FLAT_CONTAINER = re.compile(rb"\[,*\]|\{,*\}")


def longest_array(raw: bytes, depth: int = 8) -> int:
    """The most values in any one JSON array of `raw` (a batch's row count, whatever its shape: records, columns,
    dataframe_split rows), found without parsing: structure only, innermost containers measured then collapsed,
    `depth` levels. An upper bound for text that is not valid JSON (a comma inside a string counts); 0 if nothing
    can be said. A 100,000-row body under the byte cap was parsed whole (2.46 s) before its 413."""
    shape = raw.translate(None, _NOT_STRUCTURE)
    longest = 0
    for _ in range(depth):
        arrays = _FLAT_ARRAY.findall(shape)
        if arrays:
            longest = max(longest, max(map(len, arrays)) - 1)
        collapsed = _FLAT_CONTAINER.sub(b"", shape)
        if collapsed == shape:
            break
        shape = collapsed
    return longest


def too_many_rows(max_rows: int, rows: str = "more than {max_rows}") -> RequestValidationError:
    """The 413 for a batch over the row cap (`serving.errors` turns this error type into 413 batch_too_large)."""
    counted = rows.format(max_rows=max_rows)
    return RequestValidationError([{"type": BATCH_TOO_LARGE, "loc": ("body",),
                                    "msg": f"batch of {counted} rows exceeds the limit of {max_rows}"}])  # fmt: skip


def refuse_long_arrays(raw: bytes, max_rows: int) -> None:
    """Raise the row cap's 413 before parsing a JSON body that has an array of more than `max_rows` values."""
    longest = longest_array(raw)
    if longest > max_rows:
        raise too_many_rows(max_rows, str(longest))
