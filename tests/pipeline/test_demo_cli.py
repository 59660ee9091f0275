"""`make demo`'s command as a user runs it: report, Dagster UI + MLflow UI + API up, each URL printed only once its
service answers, full logs in files rather than on the terminal, the printed curl works, Ctrl-C stops all."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.services import free_port, http_ok, wait_until
from tests.support.definitions import check_names

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
    ui_port, api_port, mlflow_port = free_port(), free_port(), free_port()
    env = {**os.environ, "BODYFAT_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "dagster"),
           "BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "DAGSTER_WEBSERVER_PORT": str(ui_port),
           "API_PORT": str(api_port), "MLFLOW_PORT": str(mlflow_port)}
    env = {k: v for k, v in env.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_UI_URL", "DAGSTER_UI_URL")}
    log = open(tmp_path / "terminal.txt", "w+")
    demo = subprocess.Popen([sys.executable, "-m", "bodyfat_assets.cli", "demo"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    mlflow_line = f"MLflow UI   http://127.0.0.1:{mlflow_port}"
    try:
        # The MLflow UI's address is printed only once it answers: probe it the moment the line appears.
        deadline = time.monotonic() + 300
        while mlflow_line not in (log.seek(0) or log.read()):
            assert demo.poll() is None, log.read()
            assert time.monotonic() < deadline, "no MLflow UI line"
            time.sleep(0.05)
        assert http_ok(f"http://127.0.0.1:{mlflow_port}/health", timeout_s=5), "MLflow UI printed before it answered"
        wait_until(lambda: "Ctrl-C stops" in (log.seek(0) or log.read()), 240, "every URL printed")
        assert answers(f"http://127.0.0.1:{api_port}/ready") and answers(f"http://127.0.0.1:{ui_port}/server_info")
        log.seek(0)
        output = log.read()
        # Quiet terminal: the report and the URLs; the services' logs are in files it names.
        for noise in ("DEBUG", "will not be used", "dg dev", "partitioned", "Successfully registered", "Traceback"):
            assert noise not in output, noise
        assert f"Logs        {tmp_path / 'logs'}" in output
        landing = tmp_path / "lake" / "landing"
        assert f"Landing     {landing / 'train'}/" in output and (landing / "score").is_dir()
        assert {"demo.log", "dagster.log", "mlflow.log", "api.log"} <= {p.name for p in (tmp_path / "logs").iterdir()}
        assert "tuned_model" in (tmp_path / "logs" / "demo.log").read_text()
        assert len(output.splitlines()) <= 40, output
        assert re.search(r"Champion\s+bodyfat v1 \(", output) and "Test metrics      RMSE" in output
        assert f"Page        http://127.0.0.1:{api_port}/" in output
        assert f"Dagster UI  http://127.0.0.1:{ui_port}" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/", timeout=10) as page:
            assert page.status == 200 and b"<form" in page.read()
        checks = len(check_names(build_definitions(Settings.from_env({"BODYFAT_HOME": str(tmp_path)}))))
        assert f"checks: {checks}/{checks} passed" in output
        ready = http_json(f"http://127.0.0.1:{api_port}/ready")
        assert ready["source"] == "registry" and ready["version"] == "1"
        # Links: the MLflow run carries the Dagster run's URL, the materialization the MLflow run's.
        dagster_run = re.search(r"Dagster run\s+(\S+)", output).group(1)
        from dagster import AssetKey, DagsterInstance
        from mlflow import MlflowClient

        client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
        runs = client.search_runs([client.get_experiment_by_name("bodyfat").experiment_id],
                                  filter_string=f"tags.dagster_run_id = '{dagster_run}'")
        assert runs and {r.data.tags.get("dagster/run_url") for r in runs} == {
            f"http://127.0.0.1:{ui_port}/runs/{dagster_run}"}
        with DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
            event = instance.get_latest_materialization_event(AssetKey("tuned_model"))
        link = event.asset_materialization.metadata["mlflow_run"]
        parent = client.get_run(event.asset_materialization.metadata["mlflow_run_id"].value)
        assert link.value == (f"http://127.0.0.1:{mlflow_port}/#/experiments/{parent.info.experiment_id}"
                              f"/runs/{parent.info.run_id}")
        # The first screens: the asset graph and runs list, not the empty Overview timeline; MLflow's runs table in
        # its classic ML view, not the GenAI start page; the registered model's page.
        assert (f"Dagster UI  http://127.0.0.1:{ui_port}/asset-groups   (the asset graph; runs: "
                f"http://127.0.0.1:{ui_port}/runs)") in output
        assert (f"MLflow UI   http://127.0.0.1:{mlflow_port}/#/experiments/{parent.info.experiment_id}/runs"
                f"?workflowType=machine_learning") in output
        assert f"Model       http://127.0.0.1:{mlflow_port}/#/models/bodyfat" in output
        assert http_ok(f"http://127.0.0.1:{ui_port}/asset-groups", timeout_s=10)
        assert http_ok(f"http://127.0.0.1:{ui_port}/runs", timeout_s=10)
        assert type(link).__name__ == "UrlMetadataValue"
        printed = re.search(r"-d '(\{.*\})'", output).group(1)
        prediction = http_json(f"http://127.0.0.1:{api_port}/predict", json.loads(printed))
        assert 2 < prediction["body_fat_pct"] < 40 and prediction["model_version"] == "1"
        children = psutil.Process(demo.pid).children(recursive=True)
        assert len(children) >= 4, "dagster dev (webserver, daemon, code server), MLflow UI and the API"
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


def test_a_url_is_printed_only_once_its_service_answers_and_a_dead_one_is_named(monkeypatch, tmp_path):
    from bodyfat_assets import cli

    class Alive:
        returncode = None

        def poll(self):
            return None

    class Dead(Alive):
        returncode = 3

        def poll(self):
            return 3

    probes = {"http://mlflow/health": iter([False, False, True])}
    printed: list[tuple[str, int]] = []
    calls = {"n": 0}

    def answers(url):
        calls["n"] += 1
        return next(probes[url], True)

    monkeypatch.setattr(cli, "_answers", answers)
    mlflow = cli.DemoService("mlflow", Alive(), tmp_path / "mlflow.log", "http://mlflow/health", ("MLflow UI   x",))
    assert cli.announce_when_up([mlflow], out=lambda line: printed.append((line, calls["n"])), poll_s=0) is None
    assert printed == [("MLflow UI   x", 3)], "printed before the third probe, the first that answered"

    api = cli.DemoService("api", Dead(), tmp_path / "api.log", "http://api/health", ("API x",))
    assert cli.announce_when_up([api], out=printed.append, poll_s=0) is api
