"""A real uvicorn serving process against a real MLflow registry: what the registry and warm-up tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.serving_process import serving_process

POLL_S = 1.0


@contextmanager
def serving_api(tracking_uri: str, log_dir: Path, **extra_env: str) -> Iterator[str]:
    with serving_process(log_dir, tracking_uri, BODYFAT_SERVING_POLL_INTERVAL_S=str(POLL_S), **extra_env) as api:
        yield api.url


def ready(url: str) -> dict:
    return httpx.get(f"{url}/ready", timeout=5).json()


def use_tracking(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    mlflow.set_tracking_uri(url)
