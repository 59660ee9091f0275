"""Every registry call is bounded by the serving timeout whatever the store, and "no champion" is read from MLflow's
error codes, against a real SQLite registry (the store MLflow's REST server also answers from).

A SQLite store locked by a writer makes MLflow wait out its 20 s busy timeout; MLflow's HTTP timeout does not apply
to it. Held for the whole call, the lock makes an unbounded call end in the store's own error after 20 s, and a
bounded one in `RegistryTimeout`: the outcome says which happened, no clock is asserted.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException

from bodyfat_assets.testing.contract_model import log_contract_model
from bodyfat_assets.testing.services import wait_until
from serving.loading import HTTP_LIMITS, MlflowSource
from serving.schemas import EXAMPLE_RECORD
from tests.support.serving_process import serving_process

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::UserWarning")]
TOKEN = "deadline-admin"
TIMEOUT_S = 3.0


@pytest.fixture
def sqlite_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    import mlflow

    for name in HTTP_LIMITS:
        monkeypatch.delenv(name, raising=False)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return uri


def reload(client: TestClient) -> dict:
    return client.post("/admin/reload", headers={"X-Admin-Token": TOKEN}).json()


def test_locked_sqlite_registry_is_cut_at_the_timeout_and_the_champion_keeps_serving(
    sqlite_registry: str, tmp_path: Path, make_client: Callable[..., TestClient]
) -> None:
    assert log_contract_model("bodyfat", alpha=1.0) == "1"
    assert log_contract_model("bodyfat", alpha=50.0, alias=None) == "2"
    client = make_client(tracking_uri=sqlite_registry, registry_timeout_s=TIMEOUT_S, admin_token=TOKEN)
    # The first load may be cut too on a busy machine (its imports run inside the deadline): retried as a poll would.
    wait_until(lambda: reload(client)["source"] == "registry", 60, "champion v1 loaded")

    writer = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")  # what a long migration or a stuck writer holds
    try:
        locked = reload(client)
        served = client.post("/predict", json=EXAMPLE_RECORD)
        ready = client.get("/ready")
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert (locked["outcome"], locked["detail"]) == ("error", "RegistryTimeout")
    assert (locked["version"], locked["source"]) == ("1", "registry")
    assert served.status_code == 200
    assert (served.json()["model_version"], served.json()["model_source"]) == ("1", "registry")
    assert ready.json()["last_check"]["detail"] == "RegistryTimeout"
    # Unlocked, the registry is asked again (once the cut call has finished) and an alias move is picked up.
    from mlflow import MlflowClient

    MlflowClient(sqlite_registry).set_registered_model_alias("bodyfat", "champion", "2")
    wait_until(lambda: reload(client)["version"] == "2", 60, "v2 picked up after the lock was released")
    assert client.post("/predict", json=EXAMPLE_RECORD).json()["model_version"] == "2"


def test_an_api_started_on_a_locked_sqlite_registry_is_ready_within_the_deadline_then_finds_its_champion(
    sqlite_registry: str, tmp_path: Path
) -> None:
    # A fresh process: building MLflow's client opens the store, reading a SQLite registry's tables (an empty one is
    # migrated). In this process the store is already open and cached, so only a new API shows the cost.
    assert log_contract_model("bodyfat") == "1"
    writer = sqlite3.connect(tmp_path / "mlflow.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with serving_process(
            tmp_path, tracking_uri=sqlite_registry, BODYFAT_SERVING_REGISTRY_TIMEOUT_S="1",
            BODYFAT_SERVING_POLL_INTERVAL_S="1",
        ) as api:  # fmt: skip
            locked = httpx.get(f"{api.url}/ready").json()
            # Built outside the deadline, the client held the start for 9.1 s (sqlite's 5 s lock wait, then MLflow's
            # retries) and ended in the store's own error (`registry client: OperationalError`); cut at 1 s, the start
            # took 2.9 s, MLflow's import and the fallback's load included. As in the test above, the outcome says
            # which happened: the imports alone took over 8 s at load 17, so no clock is asserted.
            assert (locked["status"], locked["reason"], locked["source"]) == ("degraded", "registry_error", "fallback")
            assert locked["last_check"]["detail"] == "RegistryTimeout"
            # Unlocked, the next poll opens the store and loads the champion (the API used to keep the fallback).
            writer.execute("ROLLBACK")
            wait_until(lambda: httpx.get(f"{api.url}/ready").json()["source"] == "registry", 30, "champion, unlocked")
            ready = httpx.get(f"{api.url}/ready")
    finally:
        writer.close()
    assert ready.status_code == 200
    assert (ready.json()["reason"], ready.json()["version"]) == ("champion", "1")


def test_no_champion_is_read_from_mlflow_error_codes(sqlite_registry: str) -> None:
    source = MlflowSource("bodyfat", "champion", sqlite_registry, timeout_s=30, max_retries=0)
    assert source.champion_version() is None  # RESOURCE_DOES_NOT_EXIST: no such model
    assert log_contract_model("bodyfat", alias=None) == "1"
    assert source.champion_version() is None  # INVALID_PARAMETER_VALUE "Registered model alias ... not found."
    malformed = MlflowSource("bodyfat", "bad/alias", sqlite_registry, timeout_s=30, max_retries=0)
    with pytest.raises(MlflowException) as raised:  # the same code for a malformed name: not "no champion"
        malformed.champion_version()
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    # MLflow's HTTP limits were set for the calls only: the process environment is left as it was.
    assert [name for name in HTTP_LIMITS if name in os.environ] == []
