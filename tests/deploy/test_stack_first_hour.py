"""`make stack` as a newcomer lives it: its credentials in a private file, `make feed` into its S3
lake, `make stack-sensors` starting the sensors, a restart that never shows history without data, and `make clean`
dropping its databases.

Needs the PostgreSQL server (skips without it, fails when CI=true). Two stack starts: a few minutes on 2 cores.
"""

from __future__ import annotations

import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from bodyfat_assets.settings import Settings, read_dotenv
from bodyfat_assets.testing.services import _pg_connect, require_postgres
from scripts.stack import REPO_ROOT, Stack, StackConfig, next_steps
from tests.support.deploy import stack_values

CLIENT_PREFIXES = ("BODYFAT_", "MLFLOW_", "AWS_", "DAGSTER_", "S3_ENDPOINT_URL", "OPTUNA_", "POSTGRES_", "MINIO_")


def _make(target: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`make <target>` as a user's shell runs it: none of the stack's variables exported, only BODYFAT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLIENT_PREFIXES)}
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO_ROOT), target, f"BODYFAT_HOME={home}"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)  # fmt: skip


def _objects(stack: Stack, prefix: str) -> list[str]:
    listed = stack.s3_client().list_objects_v2(Bucket=stack.config.lake_bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def _databases(prefix: str) -> set[str]:
    conn = _pg_connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{prefix}%",))
            return {row[0] for row in cur.fetchall()}
    finally:
        conn.close()


def _history(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """What PostgreSQL remembers: Dagster sensor states and runs, MLflow registered models."""
    from dagster import DagsterInstance
    from mlflow import MlflowClient

    for key, value in read_dotenv(stack.env_file).items():
        monkeypatch.setenv(key, value)
    with DagsterInstance.from_config(str(stack.dagster_home)) as instance:
        sensors = [s for s in instance.all_instigator_state() if s.status.value == "RUNNING"]
        runs = instance.get_runs_count()
    models = MlflowClient(tracking_uri=stack.config.mlflow_url).search_registered_models()
    return {"running_sensors": len(sensors), "runs": runs, "registered_models": len(models)}


def test_next_steps_name_the_credentials_the_sensors_and_the_feed(tmp_path: Path) -> None:
    config = StackConfig.from_env(stack_values("unit"))
    text = next_steps(Stack(config, workdir=tmp_path))
    assert str(tmp_path / "stack.env") in text and "0600" in text
    assert "make stack-sensors" in text and f"{config.webserver_url}/automation" in text
    assert f"s3://{config.lake_bucket}/{config.lake_prefix}/landing/" in text


def test_saved_credentials_are_reused() -> None:
    values = stack_values("unit")
    saved = {"AWS_ACCESS_KEY_ID": "stack-kept", "AWS_SECRET_ACCESS_KEY": "kept-secret-123"}
    config = StackConfig.from_settings(Settings.from_env(values), saved)
    assert (config.s3_user, config.s3_password) == ("stack-kept", "kept-secret-123")


@pytest.mark.integration
def test_credentials_feed_sensors_restart_and_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    prefix = f"stackhour_{uuid.uuid4().hex[:8]}"
    # A retrain would cost minutes of tuning and prove nothing here: only the landing side may run.
    values = stack_values(prefix) | {"BODYFAT_RETRAIN_MIN_ROWS": "1000000"}
    home = tmp_path / "home"
    workdir = home / "stack"  # where `make stack` puts it under BODYFAT_HOME
    stack = Stack(StackConfig.from_env(values), workdir=workdir, with_api=False, log=lambda _msg: None)
    try:
        stack.start()
        # 13.4: the credentials are written down, for the owner only.
        assert stat.S_IMODE(stack.env_file.stat().st_mode) == 0o600
        saved = read_dotenv(stack.env_file)
        assert saved["AWS_SECRET_ACCESS_KEY"] == stack.config.s3_password
        assert saved["S3_ENDPOINT_URL"] == stack.config.s3_endpoint_url

        # `make feed` reaches the stack's S3 lake, not the local folder.
        fed = _make("feed", home)
        assert fed.returncode == 0, fed.stderr
        assert "feeding its S3 lake" in fed.stdout
        landing = f"{stack.config.lake_prefix}/landing/"
        assert len([k for k in _objects(stack, landing + "train/") if "synthetic-" in k]) == 2
        assert len([k for k in _objects(stack, landing + "score/") if "synthetic-" in k]) == 1
        assert not (home / "lake").exists(), "make feed wrote to the local folder"

        # `make stack-sensors` starts the sensors that production leaves stopped.
        assert _history(stack, monkeypatch)["running_sensors"] == 0
        started = _make("stack-sensors", home)
        assert started.returncode == 0, started.stdout + started.stderr
        assert _history(stack, monkeypatch)["running_sensors"] >= 2

        from mlflow import MlflowClient

        MlflowClient(tracking_uri=stack.config.mlflow_url).create_registered_model(stack.config.model_name)
        assert _history(stack, monkeypatch)["registered_models"] == 1
    finally:
        stack.stop()

    # 13.5: restart with the same state folder. Either the data is there or the instance is fresh.
    restarted = Stack(StackConfig.from_settings(Settings.from_env(values), read_dotenv(stack.env_file)),
                      workdir=workdir, with_api=False, log=lambda _msg: None)  # fmt: skip
    assert restarted.config.s3_password == stack.config.s3_password, "the generated key pair is kept"
    try:
        restarted.start()
        data = _objects(restarted, f"{restarted.config.lake_prefix}/")
        history = _history(restarted, monkeypatch)
        if restarted.persistent_s3:
            assert data and history["registered_models"] == 1
        else:
            assert data == [] and history == {"running_sensors": 0, "runs": 0, "registered_models": 0}
        assert stat.S_IMODE(restarted.env_file.stat().st_mode) == 0o600
    finally:
        restarted.stop()

    # `make clean` removes what the stack created, its databases included.
    assert _databases(prefix) == {f"{prefix}_dagster", f"{prefix}_mlflow", f"{prefix}_optuna"}
    cleaned = _make("clean", home)
    assert cleaned.returncode == 0, cleaned.stderr
    assert _databases(prefix) == set()
    assert not home.exists()


def test_a_second_stack_on_the_same_folder_is_refused_before_touching_anything(tmp_path: Path) -> None:
    import subprocess as sp
    import sys

    from scripts.stack import PID_FILE, StackError

    other = sp.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / PID_FILE).write_text(f"{other.pid}\n")
        stack = Stack(StackConfig.from_env(stack_values("unit")), workdir=tmp_path, log=lambda _msg: None)
        with pytest.raises(StackError, match="already runs"):
            stack.start()
        assert not (tmp_path / "stack.env").exists() and not (tmp_path / "databases").exists()
        stack.stop()  # what main() does on the way out
        assert (tmp_path / PID_FILE).read_text() == f"{other.pid}\n", "the running stack is still marked"
    finally:
        other.kill()
        other.wait()
