"""`python -m serving` starts with the garbage collector off and, once the model is loaded, freezes what startup
built and switches it back on (serving/__main__.py says why, with the figures)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.__main__ import collecting_after_startup
from serving.app import create_app
from serving.settings import ServingSettings


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_the_collector_comes_back_on_once_the_model_is_loaded_with_startup_frozen(collector_restored: None) -> None:
    app = create_app(ServingSettings(poll_interval_s=3600), source=FakeSource({"1": registry_model("1")}, champion="1"))
    app.router.lifespan_context = collecting_after_startup(app.router.lifespan_context)
    gc.disable()
    gc.unfreeze()
    with TestClient(app) as client:
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        model = app.state.store.current
        assert model is not None and client.get("/ready").json()["version"] == "1"
        # Frozen after the store started: the loaded model is among the frozen objects no collection rescans.
        assert all(tracked is not model for tracked in gc.get_objects())
