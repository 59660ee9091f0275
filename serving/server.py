"""uvicorn, bounded against slow clients (issue 14, item 6: one client sending a byte a second held SIGTERM for 39 s;
2,000 half-sent requests stayed open after 30 s).

uvicorn bounds the idle time between requests (`timeout_keep_alive`) and, when asked, the graceful-shutdown wait
(`timeout_graceful_shutdown`), but not the time a client may take to send its request headers: that is the
`HeaderTimeoutProtocol` below. The body's deadline is enforced where the body is read (`serving.body`, 408).
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.settings import ServingSettings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """Closes a connection whose request line and headers are not complete within `header_timeout_s` of the
    connection opening or of the request's first byte."""

    header_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

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

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def server_config(app: Any, settings: ServingSettings) -> uvicorn.Config:
    protocol = type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout_s": settings.header_timeout_s})
    # access_log off: one log line per request costs more than a Ridge prediction; /metrics counts requests.
    # log_config None: uvicorn's loggers propagate to the root logger, whose formatter redacts credentials.
    return uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False, log_config=None,
        http=protocol, timeout_keep_alive=settings.keep_alive_s, timeout_graceful_shutdown=settings.shutdown_grace_s,
    )  # fmt: skip
