"""scripts/stack.py for real: every service as a process, healthy, and nothing left behind after stop().

Needs the PostgreSQL server (skips without it, fails when CI=true). Ports are ephemeral and the databases get a
unique prefix, so it can run next to a developer's own `make stack` and other test sessions.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bodyfat_assets.settings import SettingsError, read_dotenv
from bodyfat_assets.testing.services import require_postgres
from scripts.stack import REPO_ROOT, Stack, StackConfig, process_group_alive, stack_settings
from tests.support.deploy import stack_values

WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name
    locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _get_json(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


POOL_LIMITS_QUERY = "{ instance { concurrencyLimits { concurrencyKey slotCount } } }"


def test_env_precedence(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("MLFLOW_PORT=1\nMINIO_PORT=1\nAPI_PORT=1\n# DAGSTER_GRPC_PORT=1\n")
    (tmp_path / ".env").write_text("export MINIO_PORT='2'\nAPI_PORT=\"2\"\n")
    settings = stack_settings({"API_PORT": "3"}, root=tmp_path)
    ports = settings.services
    assert (ports.mlflow_port, ports.minio_port, ports.api_port, ports.grpc_port) == (1, 2, 3, 4000)


def test_config_refuses_malformed_values() -> None:
    # Rewritten: an empty value now means "unset, use the model's default", as for every variable.
    values = read_dotenv(REPO_ROOT / ".env.example") | {"MLFLOW_BUCKET": "ab"}
    with pytest.raises(SettingsError, match="MLFLOW_BUCKET"):
        StackConfig.from_env(values)
    with pytest.raises(Exception, match="BODYFAT_BUCKET"):
        StackConfig.from_env(read_dotenv(REPO_ROOT / ".env.example") | {"BODYFAT_BUCKET": ""})


def test_secrets_stay_out_of_repr() -> None:
    values = read_dotenv(REPO_ROOT / ".env.example") | {"POSTGRES_PASSWORD": "pg-secret"}
    config = StackConfig.from_env(values)
    assert "pg-secret" not in repr(config)
    assert config.s3_password not in repr(config)


@pytest.mark.integration
def test_stack_starts_healthy_and_stops_clean(tmp_path: Path) -> None:
    require_postgres()
    prefix = f"stacktest_{uuid.uuid4().hex[:8]}"
    config = StackConfig.from_env(stack_values(prefix))
    stack = Stack(config, workdir=tmp_path / "stack", log=lambda _msg: None)
    try:
        stack.start()
        urls = stack.urls()
        assert {"postgres", "mlflow", "dagster-code", "dagster-webserver", "dagster-daemon"} <= set(urls)
        assert {"s3 (moto)", "minio"} & set(urls)

        # S3: both buckets exist.
        buckets = {b["Name"] for b in stack.s3_client().list_buckets()["Buckets"]}
        assert {config.lake_bucket, config.services.mlflow_bucket} <= buckets

        # MLflow: healthy, PostgreSQL-backed, and proxying artifacts into the MLflow bucket.
        with urllib.request.urlopen(f"{config.mlflow_url}/health", timeout=10) as response:
            assert response.status == 200
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=config.mlflow_url)
        run = client.create_run(client.create_experiment(f"{prefix}-probe"))
        client.log_text(run.info.run_id, "ok", "probe.txt")
        listed = stack.s3_client().list_objects_v2(Bucket=config.services.mlflow_bucket).get("Contents", [])
        keys = [o["Key"] for o in listed]
        assert any(key.startswith("artifacts/") and key.endswith("probe.txt") for key in keys), keys

        # Dagster: the webserver answers and has loaded the code location from the gRPC server.
        with urllib.request.urlopen(f"{config.webserver_url}/server_info", timeout=10) as response:
            assert response.status == 200
        workspace = _get_json(f"{config.webserver_url}/graphql", {"query": WORKSPACE_QUERY})["data"]
        entries = workspace["workspaceOrError"]["locationEntries"]
        assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
            ("bodyfat", "RepositoryLocation")
        ]

        # The pools have their limits before the daemon's first dequeue (bodyfat_assets/pools.py).
        limits = _get_json(f"{config.webserver_url}/graphql", {"query": POOL_LIMITS_QUERY})["data"]["instance"]
        assert {(c["concurrencyKey"], c["slotCount"]) for c in limits["concurrencyLimits"]} == {
            ("tuning", 1), ("scoring", 1)}

        if "api" in urls:
            with urllib.request.urlopen(f"{config.api_url}/health", timeout=10) as response:
                assert response.status == 200
        pids = stack.pids()
        assert pids
    finally:
        stack.stop()
        stack.drop_created_databases()

    # Every process group the stack started is gone: no service, worker or grandchild survives stop().
    # A generous bound: on a loaded 2-core machine a stopping MLflow or Dagster tree took several seconds.
    deadline = time.monotonic() + 60
    while any(process_group_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if process_group_alive(pid)]
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
