"""Serving hardening against a real `python -m serving` process (uvicorn): what outside probes
broke. Waits are bounded conditions, never timing assertions."""

from __future__ import annotations

import select
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bodyfat_assets.testing.contract_model import log_contract_model
from bodyfat_assets.testing.services import free_port, mlflow_server, wait_until
from serving.schemas import EXAMPLE_RECORD
from tests.support.serving_process import ServingProcess, serving_process

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::UserWarning")]
MB = 1 << 20


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[ServingProcess]:
    """One key-less API on the bundled fallback, shared by the tests that only send requests."""
    with serving_process(tmp_path_factory.mktemp("serving")) as process:
        yield process


def send_chunked(port: int, path: str, total_bytes: int, chunk: bytes = b"{" * MB) -> int:
    """POST `total_bytes` of invalid JSON with chunked encoding; stop early once the server answers or closes.
    Returns the HTTP status (0 if the server closed without one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())  # fmt: skip
        sent = 0
        try:
            while sent < total_bytes:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server has answered (or closed): stop sending
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass
        try:
            head = sock.recv(64)
        except OSError:
            return 0
        return int(head.split()[1]) if head.startswith(b"HTTP/1.1") else 0


def rss_mb(process: ServingProcess) -> float:
    return psutil.Process(process.proc.pid).memory_info().rss / MB


@pytest.mark.parametrize("api_key", ["k3y", None])
def test_huge_chunked_bodies_without_credentials_do_not_grow_memory(tmp_path: Path, api_key: str | None) -> None:
    extra = {"BODYFAT_SERVING_API_KEY": api_key} if api_key else {}
    with serving_process(tmp_path, **extra) as api:
        httpx.post(f"{api.url}/predict", json=EXAMPLE_RECORD, headers={"X-API-Key": api_key or ""})  # warm
        before = rss_mb(api)
        statuses = [send_chunked(api.port, path, 200 * MB) for path in ("/predict", "/predict/batch", "/invocations")]
        assert statuses == ([401] * 3 if api_key else [413] * 3)
        assert rss_mb(api) - before < 50, f"RSS grew from {before:.0f} MB to {rss_mb(api):.0f} MB"
        assert httpx.get(f"{api.url}/health").status_code == 200


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_deeply_nested_bodies_get_a_json_4xx(api: ServingProcess, path: str) -> None:
    for depth in (10, 100, 1_000, 10_000, 100_000):
        for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
            response = httpx.post(api.url + path, content=body, headers={"content-type": "application/json"})
            assert 400 <= response.status_code < 500, (depth, response.status_code, response.text[:200])
            assert response.json()["code"], (depth, response.text[:200])
    assert httpx.post(api.url + path, json=EXAMPLE_RECORD if path == "/predict" else [EXAMPLE_RECORD]).is_success


def test_registry_credentials_never_reach_answers_or_logs(tmp_path: Path) -> None:
    password = "hunter2-" + "x" * 8
    uri = f"http://bodyfat:{password}@127.0.0.1:{free_port()}"
    with serving_process(tmp_path, uri, BODYFAT_SERVING_ADMIN_TOKEN="adm1n",
                         BODYFAT_SERVING_POLL_INTERVAL_S="0.5") as api:  # fmt: skip
        wait_until(lambda: httpx.get(f"{api.url}/metrics").text.count('outcome="error"') >= 1, 30, "a failed poll")
        answers = [
            httpx.get(f"{api.url}/ready").text,
            httpx.post(f"{api.url}/admin/reload", headers={"X-Admin-Token": "adm1n"}).text,
            httpx.get(f"{api.url}/model").text,
            httpx.get(f"{api.url}/metrics").text,
        ]
        assert httpx.get(f"{api.url}/ready").json()["last_check"]["outcome"] == "error"
    log = api.log_path.read_text()
    assert "refresh failed" in log, "the failure is logged"
    for text in [*answers, log]:
        assert password not in text


def test_ten_swaps_leave_no_temporary_directories(tmp_path: Path, monkeypatch) -> None:
    import mlflow

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    with mlflow_server(f"sqlite:///{tmp_path}/mlflow.db", str(tmp_path / "artifacts"), log_dir=tmp_path) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        mlflow.set_tracking_uri(url)
        assert log_contract_model("bodyfat", alpha=1.0) == "1"
        assert log_contract_model("bodyfat", alpha=50.0, alias="challenger") == "2"
        with serving_process(tmp_path, url, TMPDIR=str(tmp), BODYFAT_SERVING_ADMIN_TOKEN="adm1n",
                             BODYFAT_SERVING_POLL_INTERVAL_S="3600") as api:  # fmt: skip
            assert httpx.get(f"{api.url}/ready").json()["version"] == "1"
            baseline = sorted(p.name for p in tmp.iterdir())
            for swap in range(10):
                version = "2" if swap % 2 == 0 else "1"
                mlflow.MlflowClient().set_registered_model_alias("bodyfat", "champion", version)
                reload = httpx.post(f"{api.url}/admin/reload", headers={"X-Admin-Token": "adm1n"}, timeout=60).json()
                assert (reload["outcome"], reload["version"]) == ("swapped", version)
            assert sorted(p.name for p in tmp.iterdir()) == baseline


def _dribble(port: int, stop: threading.Event, headers_done: bool) -> None:
    """A slow client: one byte every 0.2 s, of the headers or (after complete headers) of the body."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        start = b"POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
        try:
            if headers_done:
                sock.sendall(start + b"\r\n")
            payload = b"X-Slow: " + b"a" * 10_000 if not headers_done else b" " * 1000
            for byte in payload:
                if stop.wait(0.2):
                    return
                sock.send(bytes([byte]))
        except OSError:
            return


def test_slow_clients_cannot_hold_the_server(tmp_path: Path) -> None:
    env = {"BODYFAT_SERVING_HEADER_TIMEOUT_S": "2", "BODYFAT_SERVING_BODY_TIMEOUT_S": "300",
           "BODYFAT_SERVING_SHUTDOWN_GRACE_S": "2"}  # fmt: skip
    stop = threading.Event()
    with serving_process(tmp_path, **env) as api:
        # Headers that never end: the connection is closed after the header timeout.
        half_sent = socket.create_connection(("127.0.0.1", api.port), timeout=60)
        half_sent.sendall(b"POST /predict HTTP/1.1\r\nHost: t\r\n")
        assert half_sent.recv(1024) == b"", "closed by the server"
        half_sent.close()
        # A body sent a byte at a time (its own deadline is 300 s here): SIGTERM must still end the process after
        # the 2 s grace, not when the client finishes in 200 s.
        slow = [threading.Thread(target=_dribble, args=(api.port, stop, True)) for _ in range(3)]
        for thread in slow:
            thread.start()
        wait_until(lambda: psutil.Process(api.proc.pid).net_connections().__len__() >= 4, 30, "slow clients on")
        api.proc.send_signal(signal.SIGTERM)
        try:
            wait_until(lambda: api.proc.poll() is not None, 30, "server exit after the grace period")
        finally:
            stop.set()
            for thread in slow:
                thread.join(timeout=10)


def test_mlflow_scoring_client_works_against_the_api(api: ServingProcess) -> None:
    import pandas as pd
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    frame = pd.DataFrame([EXAMPLE_RECORD, {**EXAMPLE_RECORD, "Abdomen": 110.0}])
    client = ScoringServerClient("127.0.0.1", api.port)
    client.wait_server_ready(timeout=30)
    predictions = client.invoke(frame).get_predictions(predictions_format="ndarray")
    ours = httpx.post(f"{api.url}/predict/batch", json=frame.to_dict("records")).json()
    assert list(predictions) == pytest.approx(ours["body_fat_pct"])
    for body in ({"dataframe_records": frame.to_dict("records")}, {"inputs": frame.to_dict("records")},
                 {"instances": frame.to_dict("list")}):  # fmt: skip
        response = httpx.post(f"{api.url}/invocations", json=body)
        assert response.json()["predictions"] == pytest.approx(ours["body_fat_pct"]), body.keys()
    bad = httpx.post(f"{api.url}/invocations", json={"dataframe_records": [{**EXAMPLE_RECORD, "Neck": 900}]})
    assert bad.status_code == 400 and bad.json()["error_code"] == "BAD_REQUEST"
    assert bad.json()["fields"] == ["Neck"] and "Neck" in bad.json()["message"]
    with pytest.raises(Exception, match="error code 400"):
        client.invoke(frame.assign(Neck=900.0))
