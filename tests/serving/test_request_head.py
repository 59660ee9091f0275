"""The request line and headers against a real `python -m serving` process (uvicorn): their size and count are
bounded before any route or key check runs, and HEAD probes are answered. Waits are bounded, never timing
assertions."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.support.serving_process import ServingProcess, serving_process

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::UserWarning")]
MB = 1 << 20
CLOSED = 0  # what `send_head` returns when the server closed without a status line we could read


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingProcess]:
    # With a key configured: the limit must hold before authentication, where an attacker needs no key.
    with serving_process(tmp_path_factory.mktemp("serving"), BODYFAT_SERVING_API_KEY="k3y") as process:
        yield process


def send_head(port: int, blocks: Iterator[bytes], deadline_s: float = 120.0) -> int:
    """Send `GET /health` with the header `blocks` (each a run of complete `name: value\\r\\n` lines), stopping as soon
    as the server answers or closes; then end the head and read the status. Returns it, or CLOSED."""
    end = time.monotonic() + deadline_s
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
            for block in blocks:
                if select.select([sock], [], [], 0)[0] or time.monotonic() > end:
                    break  # the server has answered or closed: stop sending
                sock.sendall(block)
            sock.sendall(b"\r\n")
        except OSError:
            pass  # closed (reset) by the server while we were sending
        head = b""
        try:
            while b"\r\n" not in head and (chunk := sock.recv(1024)):
                head += chunk
        except OSError:
            pass
        return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else CLOSED


def padding(total_bytes: int, line_bytes: int = 8 * 1024, per_block: int = 128) -> Iterator[bytes]:
    """`total_bytes` of distinct 8 KiB header lines (a header list, not one value), ~1 MiB per block."""
    sent, index = 0, 0
    while sent < total_bytes:
        lines = []
        for _ in range(per_block):
            name = b"X-Pad-%d: " % index
            lines.append(name + b"a" * (line_bytes - len(name) - 2) + b"\r\n")
            index += 1
        block = b"".join(lines)
        sent += len(block)
        yield block


def rss_mb(process: ServingProcess) -> float:
    return psutil.Process(process.proc.pid).memory_info().rss / MB


def test_eight_floods_of_100_mb_of_headers_do_not_grow_memory(api: ServingProcess) -> None:
    assert httpx.get(f"{api.url}/health").status_code == 200
    baseline = rss_mb(api)
    peak, done = baseline, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, rss_mb(api))

    statuses: list[int] = []
    floods = [threading.Thread(target=lambda: statuses.append(send_head(api.port, padding(100 * MB))))
              for _ in range(8)]  # fmt: skip
    sampler = threading.Thread(target=sample)
    sampler.start()
    for thread in floods:
        thread.start()
    for thread in floods:
        thread.join(timeout=300)
    done.set()
    sampler.join()
    peak = max(peak, rss_mb(api))
    print(f"RSS {baseline:.0f} MB -> peak {peak:.0f} MB under 8 x 100 MB of headers; answers {statuses}")
    assert len(statuses) == 8
    assert sorted(set(statuses)) in ([431], [CLOSED], [CLOSED, 431]), statuses
    assert peak - baseline < 50, f"RSS grew {peak - baseline:.0f} MB"
    assert httpx.get(f"{api.url}/health").status_code == 200


def test_one_megabyte_header_is_431(api: ServingProcess) -> None:
    assert send_head(api.port, iter([b"X-Big: " + b"a" * MB + b"\r\n"])) == 431


def test_five_thousand_small_headers_are_431(api: ServingProcess) -> None:
    # 8 bytes a line, ~40 KB in all: under the byte cap, refused for their number.
    lines = b"".join(b"H%d:v\r\n" % i for i in range(5_000))
    assert len(lines) < 64 * 1024
    assert send_head(api.port, iter([lines])) == 431


def test_a_browser_sized_head_is_served(api: ServingProcess) -> None:
    # 40 headers and a 4 KiB cookie: what a browser sends with a fat session, well under both caps.
    headers = {f"X-Extra-{i}": "v" * 40 for i in range(38)} | {"Cookie": "s=" + "c" * 4096, "X-API-Key": "k3y"}
    assert httpx.get(f"{api.url}/health", headers=headers).status_code == 200
    # The budget is per request: twenty 32 KB heads on one kept-alive connection are 640 KB in all.
    with httpx.Client() as client:
        for _ in range(20):
            assert client.get(f"{api.url}/health", headers={"X-Long": "a" * 32_000}).status_code == 200
        assert client.get(f"{api.url}/health", headers={"X-Long": "a" * 66_000}).status_code == 431


@pytest.mark.parametrize("path", ["/", "/health"])
def test_head_probes_are_answered(api: ServingProcess, path: str) -> None:
    # Uptime monitors probe with HEAD: they must see what GET would say, without the body.
    head, get = httpx.head(api.url + path), httpx.get(api.url + path)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-type"] == get.headers["content-type"]
