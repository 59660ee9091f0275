"""Slow clients still sending their bodies when the shutdown grace runs out: a 503 each and one WARNING line."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from bodyfat_assets.testing.services import wait_until
from tests.support.serving_process import serving_process

CLIENTS = 5


def test_requests_cut_at_shutdown_get_503_and_one_warning(tmp_path: Path) -> None:
    env = {"BODYFAT_SERVING_BODY_TIMEOUT_S": "300", "BODYFAT_SERVING_SHUTDOWN_GRACE_S": "1"}
    with serving_process(tmp_path, **env) as api:
        slow = []
        for _ in range(CLIENTS):  # a request answered (so uvicorn holds the connection), then a slow one: complete
            sock = socket.create_connection(("127.0.0.1", api.port), timeout=30)  # headers, 10 of 1,000 body bytes
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            head = b""
            while not head.endswith(b'{"status":"ok"}'):
                head += sock.recv(65536)
            sock.sendall(b"POST /predict/batch HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n" + b" " * 10)  # fmt: skip
            slow.append(sock)
        time.sleep(0.5)  # the slow requests' heads parsed: their handlers wait for the body
        api.proc.send_signal(signal.SIGTERM)
        answers = []
        for sock in slow:
            with sock:
                answers.append(b"".join(iter(lambda s=sock: s.recv(65536), b"")))
        wait_until(lambda: api.proc.poll() is not None, 30, "server exit")
        log = api.log_path.read_text()
    assert [answer[:12] for answer in answers] == [b"HTTP/1.1 503"] * CLIENTS, answers
    assert all(b'"code":"shutting_down"' in answer.replace(b" ", b"") for answer in answers), answers
    assert "Traceback" not in log and " ERROR " not in log, log
    warnings = [line for line in log.splitlines() if " WARNING " in line and "shutdown" in line]
    assert len(warnings) == 1 and f"Cancel {CLIENTS} running task(s)" in warnings[0], log
