"""Fixtures for the serving tests: an in-memory model source and TestClient factories."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.model_store import LoadedModel, from_card, load_fallback
from serving.settings import FALLBACK_DIR, ServingSettings


class FakeSource:
    """A registry in memory: `champion` is the aliased version, `models` what each version loads to."""

    def __init__(self, models: dict[str, LoadedModel] | None = None, champion: str | None = None) -> None:
        self.models = models or {}
        self.champion = champion
        self.down = False
        self.loads: list[str] = []
        self.lock = threading.Lock()

    def champion_version(self) -> str | None:
        if self.down:
            raise ConnectionError("registry unreachable")
        return self.champion

    def load(self, version: str) -> LoadedModel:
        self.loads.append(version)
        return self.models[version]


def registry_model(version: str, offset: float = 0.0, half_width: float = 5.0) -> LoadedModel:
    """The fallback estimator under a registry identity, shifted by `offset` so versions are distinguishable."""
    base = load_fallback(FALLBACK_DIR)

    class Shifted:
        def predict(self, rows):
            return base.estimator.predict(rows) + offset

    card = {"features": list(base.features), "interval_half_width_90": half_width, "test_rmse": 4.0,
            "test_mae": 3.0, "test_r2": 0.7, "family": "ridge", "trained_at": "2026-01-01T00:00:00+00:00",
            "run_id": f"run{version}"}  # fmt: skip
    return from_card(Shifted(), card, name="bodyfat", version=version, alias="champion", source="registry")


@pytest.fixture
def fake_source() -> FakeSource:
    return FakeSource({"1": registry_model("1"), "2": registry_model("2", offset=10.0)}, champion="1")


@pytest.fixture
def make_client() -> Callable[..., TestClient]:
    """`make_client(source=..., **settings)`: a started TestClient (lifespan run), closed after the test."""
    stack: list[TestClient] = []

    def factory(source: object | None = None, fallback: Callable[[], LoadedModel] | None = None,
                **settings: object) -> TestClient:  # fmt: skip
        config = ServingSettings(**{"poll_interval_s": 3600, "tracking_uri": "http://127.0.0.1:9", **settings})
        client = TestClient(create_app(config, source=source, fallback=fallback))
        client.__enter__()
        stack.append(client)
        return client

    yield factory
    for client in stack:
        client.__exit__(None, None, None)


@contextmanager
def no_env(monkeypatch: pytest.MonkeyPatch, *names: str) -> Iterator[None]:
    for name in names:
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read the environment: a developer's BODYFAT_SERVING_* or MLFLOW_TRACKING_URI must not leak in,
    # and nothing may create an mlflow.db in the working directory.
    for name in ("MLFLOW_TRACKING_URI", "BODYFAT_MODEL_NAME", "BODYFAT_SERVING_API_KEY", "BODYFAT_SERVING_ADMIN_TOKEN",
                 "BODYFAT_SERVING_MAX_BATCH_ROWS", "BODYFAT_SERVING_POLL_INTERVAL_S"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
