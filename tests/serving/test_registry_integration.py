"""Against a real `mlflow server` process and a real uvicorn process running `python -m serving`.

Moving the champion alias must reach the running API within its poll interval with zero failed requests; an API
started while MLflow is down must serve the bundled fallback, say so on /ready, and pick up the champion once MLflow
comes up. Waits are bounded conditions (wait_until), never sleeps standing in for assertions.
"""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from bodyfat_assets.testing.contract_model import log_contract_model
from bodyfat_assets.testing.services import free_port, mlflow_server, wait_until
from serving.schemas import EXAMPLE_RECORD
from tests.support.registry_api import POLL_S, ready, serving_api, use_tracking

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::UserWarning")]
REPO = Path(__file__).resolve().parents[2]
MAX_LOOP_REQUESTS = 20_000


def test_alias_move_is_served_without_failed_requests(registry: str, tmp_path: Path, monkeypatch) -> None:
    use_tracking(registry, monkeypatch)
    assert log_contract_model("bodyfat", alpha=1.0, half_width=7.0) == "1"
    assert log_contract_model("bodyfat", alpha=50.0, half_width=3.0, alias="challenger") == "2"

    with serving_api(registry, tmp_path) as api:
        wait_until(lambda: ready(api)["source"] == "registry", 60, "champion v1 loaded")
        assert ready(api)["version"] == "1"

        outcomes: list[tuple[int, str | None]] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=api, timeout=10) as client:
                while not stop.is_set() and len(outcomes) < MAX_LOOP_REQUESTS:
                    try:
                        response = client.post("/predict", json=EXAMPLE_RECORD)
                        outcomes.append((response.status_code, response.json().get("model_version")))
                    except httpx.HTTPError as exc:
                        outcomes.append((0, repr(exc)))

        loop = threading.Thread(target=hammer)
        loop.start()
        try:
            wait_until(lambda: len(outcomes) >= 20, 30, "requests flowing on v1")
            import mlflow

            mlflow.MlflowClient().set_registered_model_alias("bodyfat", "champion", "2")
            wait_until(lambda: ready(api)["version"] == "2", 30 * POLL_S, "API serving v2 after the alias moved")
            seen_v2 = sum(1 for _, version in outcomes if version == "2")
            wait_until(lambda: sum(1 for _, v in outcomes if v == "2") >= seen_v2 + 20, 30, "requests on v2")
        finally:
            stop.set()
            loop.join(timeout=30)

    failures = [outcome for outcome in outcomes if outcome[0] != 200]
    assert failures == []
    versions = [version for _, version in outcomes]
    # One sequential client: once it has seen v2 it must never see v1 again (a clean, atomic swap).
    first_v2 = versions.index("2")
    assert set(versions[:first_v2]) == {"1"} and set(versions[first_v2:]) == {"2"}


def test_mlflow_down_at_start_then_champion_picked_up(tmp_path: Path, monkeypatch) -> None:
    port = free_port()
    registry_url = f"http://127.0.0.1:{port}"
    with serving_api(registry_url, tmp_path) as api:
        response = httpx.get(f"{api}/ready", timeout=5)
        state = response.json()
        # A fallback caused by an error: 503 `degraded`, while /predict still answers.
        assert response.status_code == 503
        assert (state["status"], state["reason"], state["source"]) == ("degraded", "registry_error", "fallback")
        assert state["last_check"]["outcome"] == "error"
        assert httpx.post(f"{api}/predict", json=EXAMPLE_RECORD).json()["model_source"] == "fallback"

        backend = f"sqlite:///{tmp_path}/mlflow.db"
        with mlflow_server(backend, str(tmp_path / "artifacts"), port=port, log_dir=tmp_path) as url:
            assert url == registry_url
            # Up but without a champion: still the fallback, and /ready says why.
            wait_until(lambda: ready(api)["last_check"]["outcome"] == "no_champion", 30, "registry reachable")
            response = httpx.get(f"{api}/ready", timeout=5)
            # Now a fallback by design: ready, 200.
            assert response.status_code == 200
            assert (response.json()["status"], response.json()["reason"]) == ("ready", "no_champion")
            assert ready(api)["source"] == "fallback"

            use_tracking(url, monkeypatch)
            log_contract_model("bodyfat", half_width=6.5)
            wait_until(lambda: ready(api)["source"] == "registry", 30, "champion picked up")
            prediction = httpx.post(f"{api}/predict", json=EXAMPLE_RECORD).json()
            assert (prediction["model_source"], prediction["model_version"]) == ("registry", "1")
            assert prediction["interval_high"] - prediction["interval_low"] == pytest.approx(13.0)
            info = httpx.get(f"{api}/model").json()
            assert info["run_id"] and info["family"] == "ridge" and info["alias"] == "champion"


def test_champion_artifact_gone_is_degraded_not_ready(registry: str, tmp_path: Path, monkeypatch) -> None:
    """A restarted stack's lie: the registry still names a champion whose artifacts are gone (moto's S3
    restarted empty). The API falls back, and /ready must say it is an error, not "ready"."""
    import shutil

    use_tracking(registry, monkeypatch)
    assert log_contract_model("bodyfat", alpha=1.0) == "1"
    shutil.rmtree(tmp_path / "artifacts")
    with serving_api(registry, tmp_path) as api:
        response = httpx.get(f"{api}/ready", timeout=5)
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["reason"], body["source"]) == ("degraded", "registry_error", "fallback")
        assert httpx.post(f"{api}/predict", json=EXAMPLE_RECORD).json()["model_source"] == "fallback"
