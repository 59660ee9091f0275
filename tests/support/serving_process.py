"""A real `python -m serving` process (uvicorn) for tests whose point is the server."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen

import httpx

from bodyfat_assets.testing.services import free_port, process_group, wait_until

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ServingProcess:
    url: str
    port: int
    proc: Popen
    log_path: Path


@contextmanager
def serving_process(log_dir: Path, tracking_uri: str | None = None, **extra_env: str) -> Iterator[ServingProcess]:
    """Start the API on a free loopback port; `tracking_uri` None points it at a closed port (fallback model)."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BODYFAT_", "MLFLOW_"))},
        "PYTHONPATH": str(REPO),
        "MLFLOW_TRACKING_URI": tracking_uri or f"http://127.0.0.1:{free_port()}",
        "BODYFAT_MODEL_NAME": "bodyfat",
        "BODYFAT_SERVING_HOST": "127.0.0.1",
        "BODYFAT_SERVING_PORT": str(port),
        "BODYFAT_SERVING_REGISTRY_TIMEOUT_S": "3",
        **extra_env,
    }
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"serving-{port}.log"
    with process_group([sys.executable, "-m", "serving"], env, log_path) as proc:

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"serving exited with {proc.returncode}; see {log_path}")
            try:
                # /health, not /ready: an API on the fallback because its registry is down is up but answers 503
                # `degraded` on /ready, and uvicorn only accepts connections once the model store has started.
                return httpx.get(f"{url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, f"serving API on {url}")
        yield ServingProcess(url, port, proc, log_path)
