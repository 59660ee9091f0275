"""uvicorn, bounded against slow and oversized request heads.

uvicorn bounds the idle time between requests (`timeout_keep_alive`) and, when asked, the graceful-shutdown wait
(`timeout_graceful_shutdown`), but neither the time a client may take to send its request line and headers nor
their size: httptools buffers a header value until it ends and uvicorn keeps every header, all before any route or
key check (the figures are in `ServingSettings.max_header_bytes`). The `BoundedHeadProtocol` below bounds the head's
time, bytes and header count. The body's deadline and size are enforced where the body is read (`serving.body`:
408, 413). `CutAtShutdown` answers the requests uvicorn cancels when the shutdown grace runs out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from serving.logs import GRACE_EXCEEDED
from serving.settings import ServingSettings

_TOO_LARGE = b"request header fields too large"
_REPLY_431 = b"".join([
    STATUS_LINE[431], b"content-type: text/plain; charset=utf-8\r\n",
    b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_TOO_LARGE), _TOO_LARGE,
])  # fmt: skip


class _TooManyHeaders(Exception):
    """Raised from the parser's header callback: the only way to stop httptools in the middle of a read."""


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the request head bounded. The request line and headers must be complete
    within `header_timeout_s` of the connection opening or of the request's first byte (else the connection is
    closed), and within `max_header_bytes` bytes and `max_header_count` headers (else 431 and the connection is
    closed: the rest of the head is never read, so it never reaches memory)."""

    header_timeout_s = 10.0
    max_header_bytes = 64 * 1024
    max_header_count = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._in_head = True  # between requests or inside a request's head; False while a body arrives
        self._head_bytes = 0
        self._too_many_headers = False

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self, why: str) -> None:
        self.logger.warning("Request head refused with 431: %s", why)
        if not self.transport.is_closing():
            self.transport.write(_REPLY_431)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if not self._in_head:
            super().data_received(data)
            return
        # Only the head's budget is handed to the parser. When the head ends inside it, the rest of this read is
        # body (or the next request) and is parsed as usual; when it does not, the head is too large.
        allowed = self.max_header_bytes - self._head_bytes
        self._head_bytes += min(len(data), allowed)
        super().data_received(data[:allowed] if len(data) > allowed else data)
        if len(data) <= allowed or self.transport.is_closing() or self.transport.get_protocol() is not self:
            return  # all read, closed, or handed on by a WebSocket upgrade (which drops the rest, as uvicorn does)
        if self._in_head:
            self._refuse_head(f"over {self.max_header_bytes} bytes")
        else:
            self.data_received(data[allowed:])

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any exception from a parser callback with 400; ours means 431.
        if self._too_many_headers:
            self._refuse_head(f"over {self.max_header_count} headers")
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.max_header_count:
            self._too_many_headers = True
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # A pipelined request starting later in the same read is counted from its next read on: at most one read
        # (uvloop's 256 KiB) over the cap, once per request.
        self._in_head, self._head_bytes = True, 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


_SHUTTING_DOWN = json.dumps({"code": "shutting_down", "detail": "the server stopped before the request completed"})


class CutAtShutdown:
    """The outermost ASGI layer: a request uvicorn cancels because the shutdown grace ran out (a client still sending
    its body) is answered 503 with `Connection: close`, not uvicorn's 500 and an ERROR traceback per request (20
    slow clients left 20 tracebacks). Any other cancellation, or one after the response started, is left alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError as exc:
            if started or GRACE_EXCEEDED not in str(exc):
                raise
            body = _SHUTTING_DOWN.encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)),
                (b"connection", b"close")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})


def server_config(app: Any, settings: ServingSettings) -> uvicorn.Config:
    limits = {"header_timeout_s": settings.header_timeout_s, "max_header_bytes": settings.max_header_bytes,
              "max_header_count": settings.max_header_count}  # fmt: skip
    protocol = type("BoundedHeadProtocol", (BoundedHeadProtocol,), limits)
    # access_log off: one log line per request costs more than a Ridge prediction; /metrics counts requests.
    # log_config None: uvicorn's loggers propagate to the root logger, whose formatter redacts credentials.
    return uvicorn.Config(
        CutAtShutdown(app), host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False,
        log_config=None,
        http=protocol, timeout_keep_alive=settings.keep_alive_s, timeout_graceful_shutdown=settings.shutdown_grace_s,
    )  # fmt: skip
