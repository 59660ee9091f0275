"""`make demo`'s command as a user runs it: report, Dagster UI + API up, the printed curl works, Ctrl-C stops all."""

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.settings import Settings
from tests.support.definitions import check_names
from tests.support.services import free_port, wait_until

pytestmark = pytest.mark.e2e


def http_json(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def answers(url: str) -> bool:
    try:
        http_json(url)
        return True
    except OSError:
        return False


def test_demo_reports_serves_and_stops_cleanly(tmp_path):
    ui_port, api_port = free_port(), free_port()
    env = {**os.environ, "BODYFAT_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster"),
           "BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "DAGIT_PORT": str(ui_port), "API_PORT": str(api_port)}
    log = open(tmp_path / "demo.log", "w+")
    demo = subprocess.Popen([sys.executable, "-m", "bodyfat_assets.cli", "demo"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{api_port}/ready")
                   and answers(f"http://127.0.0.1:{ui_port}/server_info"), 240, "demo's Dagster UI and API")
        log.seek(0)
        output = log.read()
        assert re.search(r"Champion\s+bodyfat v1 \(", output) and "Test metrics      RMSE" in output
        assert f"Page        http://127.0.0.1:{api_port}/" in output
        assert f"Dagster UI  http://127.0.0.1:{ui_port}" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/", timeout=10) as page:
            assert page.status == 200 and b"<form" in page.read()
        checks = len(check_names(build_definitions(Settings.from_env({"BODYFAT_HOME": str(tmp_path)}))))
        assert f"checks: {checks}/{checks} passed" in output
        ready = http_json(f"http://127.0.0.1:{api_port}/ready")
        assert ready["source"] == "registry" and ready["version"] == "1"
        printed = re.search(r"-d '(\{.*\})'", output).group(1)
        prediction = http_json(f"http://127.0.0.1:{api_port}/predict", json.loads(printed))
        assert 2 < prediction["body_fat_pct"] < 40 and prediction["model_version"] == "1"
        children = psutil.Process(demo.pid).children(recursive=True)
        assert len(children) >= 3, "dagster dev (webserver, daemon, code server) and the API"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive, f"left running after Ctrl-C: {[p.cmdline() for p in alive]}"
    finally:
        # The demo starts its services in sessions of their own: on a failed assertion, kill them too, not only
        # the demo's group (a SIGTERM to a half-started `dagster dev` was seen ignored).
        if demo.poll() is None:
            for child in psutil.Process(demo.pid).children(recursive=True):
                child.kill()
            os.killpg(demo.pid, signal.SIGKILL)
        log.close()
