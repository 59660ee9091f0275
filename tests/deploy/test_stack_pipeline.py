"""End to end on the production topology: a queued run of `bodyfat_pipeline` through the daemon, the code server
(DefaultRunLauncher), S3 lake, MLflow on PostgreSQL + S3 artifacts and Optuna on PostgreSQL, then the API serving
the champion.

Several minutes of CPU on a 2-core machine, so opt-in: `BODYFAT_DEPLOY_E2E=1 python -m pytest tests/deploy`.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from scripts.stack import Stack, StackConfig
from tests.deploy.test_stack import _stack_values
from tests.support.services import require_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("BODYFAT_DEPLOY_E2E") != "1", reason="slow end-to-end run; set BODYFAT_DEPLOY_E2E=1"
    ),
]
RUN_TIMEOUT_S = 900


def test_queued_pipeline_run_on_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    # A small search: this checks the wiring, not the model. The stack's children inherit these.
    monkeypatch.setenv("BODYFAT_TRIALS", "6")
    monkeypatch.setenv("BODYFAT_FAMILIES", "ridge,knn")
    monkeypatch.setenv("BODYFAT_CV_FOLDS", "3")
    prefix = f"stacke2e_{uuid.uuid4().hex[:8]}"
    config = StackConfig.from_env(_stack_values(prefix))
    stack = Stack(config, workdir=tmp_path / "stack", with_api=True, log=lambda _msg: None)
    try:
        stack.start()
        from dagster import DagsterRunStatus
        from dagster_graphql import DagsterGraphQLClient

        client = DagsterGraphQLClient(config.host, port_number=config.webserver_port)
        run_id = client.submit_job_execution("bodyfat_pipeline")
        deadline = time.monotonic() + RUN_TIMEOUT_S
        status = client.get_run_status(run_id)
        while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            assert time.monotonic() < deadline, f"run {run_id} still {status} after {RUN_TIMEOUT_S} s"
            time.sleep(3)
            status = client.get_run_status(run_id)
        assert status == DagsterRunStatus.SUCCESS, f"run {run_id}: {status}; logs in {stack.workdir}"

        s3 = stack.s3_client()
        lake = s3.list_objects_v2(Bucket=config.lake_bucket, Prefix=config.lake_prefix).get("Contents", [])
        assert lake, "nothing written to the lake bucket"
        artifacts = s3.list_objects_v2(Bucket=config.mlflow_bucket).get("Contents", [])
        assert artifacts, "no MLflow artifact reached the MLflow bucket"

        from mlflow import MlflowClient

        registry = MlflowClient(tracking_uri=config.mlflow_url)
        champion = registry.get_model_version_by_alias(config.model_name, "champion")
        assert champion.version

        import optuna

        summaries = optuna.get_all_study_summaries(storage=config.pg_url(config.optuna_db))
        assert summaries and summaries[0].n_trials >= 1

        # The API polls the alias (every 30 s by default): wait until it serves the registry champion, not the
        # bundled fallback it starts with.
        deadline = time.monotonic() + 120
        served = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{config.api_url}/ready", timeout=10) as response:
                    served = json.loads(response.read())
            except OSError:
                served = None
            if served and str(served.get("version")) == str(champion.version):
                break
            time.sleep(2)
        assert served and str(served.get("version")) == str(champion.version), served
    finally:
        stack.stop()
        stack.drop_created_databases()
