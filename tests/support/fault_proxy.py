"""A reverse proxy in front of a real HTTP server that answers 500 to the requests a test chooses.

For faults a stopped server cannot produce: one failing endpoint while every other call still reaches the server.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
              "proxy-authenticate", "content-length"}

FaultRule = Callable[[str, str], bool]
"""(method, path with query) -> True to answer 500 instead of forwarding."""


@contextmanager
def fault_proxy(upstream: str, fail: FaultRule) -> Iterator[str]:
    """Yield the proxy's URL; requests for which `fail(method, path)` is true get a 500, the rest are forwarded."""
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if fail(self.command, self.path):
                self._reply(500, {"Content-Type": "application/json"},
                            b'{"error_code": "INTERNAL_ERROR", "message": "injected by fault_proxy"}')
                return
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                self._reply(response.status, dict(response.getheaders()), response.read())
            finally:
                conn.close()

        def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args: object) -> None:  # quiet: pytest shows failures, not every request
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
