"""Fixtures for the serving tests: an in-memory model source and TestClient factories."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bodyfat_assets.testing.services import mlflow_server
from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.app import create_app
from serving.model_store import LoadedModel
from serving.settings import ServingSettings


@pytest.fixture
def fake_source() -> FakeSource:
    return FakeSource({"1": registry_model("1"), "2": registry_model("2", offset=10.0)}, champion="1")


@pytest.fixture
def make_client() -> Callable[..., TestClient]:
    """`make_client(source=..., **settings)`: a started TestClient (lifespan run), closed after the test."""
    stack: list[TestClient] = []

    def factory(source: object | None = None, fallback: Callable[[], LoadedModel] | None = None,
                challenger_source: object | None = None, **settings: object) -> TestClient:  # fmt: skip
        config = ServingSettings(**{"poll_interval_s": 3600, "tracking_uri": "http://127.0.0.1:9", **settings})
        client = TestClient(create_app(config, source=source, fallback=fallback, challenger_source=challenger_source))
        client.__enter__()
        stack.append(client)
        return client

    yield factory
    for client in stack:
        client.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read the environment: a developer's BODYFAT_SERVING_* or MLFLOW_TRACKING_URI must not leak in,
    # and nothing may create an mlflow.db in the working directory.
    for name in ("MLFLOW_TRACKING_URI", "BODYFAT_MODEL_NAME", "BODYFAT_SERVING_API_KEY", "BODYFAT_SERVING_ADMIN_TOKEN",
                 "BODYFAT_SERVING_MAX_BATCH_ROWS", "BODYFAT_SERVING_POLL_INTERVAL_S"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A real `mlflow server` on SQLite and local artifacts; yields its URL."""
    with mlflow_server(f"sqlite:///{tmp_path}/mlflow.db", str(tmp_path / "artifacts"), log_dir=tmp_path) as url:
        yield url
