"""End to end on the production topology, nobody clicking: with sensors switched on, the daemon's landing sensor
ingests the seed partition from the S3 lake, the retrain sensor queues `bodyfat_pipeline` (code server,
DefaultRunLauncher, forkserver executor), MLflow on PostgreSQL + S3 artifacts and Optuna on PostgreSQL record it,
and the API ends up serving the champion it promoted.

About two and a half minutes on two cores (it was five and a half before the forkserver executor); part of the
default suite, since nothing else checks the loop on production resources. `-m "not e2e"` skips it.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bodyfat_assets.testing.services import require_postgres
from scripts.stack import Stack, StackConfig
from tests.support.deploy import stack_values

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
RUN_TIMEOUT_S = 900


def test_queued_pipeline_run_on_the_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    # A small search: this checks the wiring, not the model. The stack's children inherit these.
    monkeypatch.setenv("BODYFAT_TRIALS", "6")
    monkeypatch.setenv("BODYFAT_FAMILIES", "ridge,knn")
    monkeypatch.setenv("BODYFAT_CV_FOLDS", "3")
    prefix = f"stacke2e_{uuid.uuid4().hex[:8]}"
    # Through the stack's own values, as an operator would set them in .env: production defaults to STOPPED.
    values = stack_values(prefix) | {"BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "2"}
    config = StackConfig.from_env(values)
    stack = Stack(config, workdir=tmp_path / "stack", with_api=True, log=lambda _msg: None)
    try:
        stack.start()
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        registry = MlflowClient(tracking_uri=config.mlflow_url)

        def champion_or_none():
            try:
                return registry.get_model_version_by_alias(config.model_name, "champion")
            except MlflowException:
                return None

        deadline = time.monotonic() + RUN_TIMEOUT_S
        while (champion := champion_or_none()) is None:
            assert time.monotonic() < deadline, f"no champion after {RUN_TIMEOUT_S} s; logs in {stack.workdir}"
            time.sleep(3)
        assert champion.tags.get("promotion_decision") == "promoted"

        s3 = stack.s3_client()
        lake = s3.list_objects_v2(Bucket=config.lake_bucket, Prefix=config.lake_prefix).get("Contents", [])
        assert lake, "nothing written to the lake bucket"
        artifacts = s3.list_objects_v2(Bucket=config.services.mlflow_bucket).get("Contents", [])
        assert artifacts, "no MLflow artifact reached the MLflow bucket"

        import optuna

        summaries = optuna.get_all_study_summaries(storage=config.pg_url(config.services.optuna_db))
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
