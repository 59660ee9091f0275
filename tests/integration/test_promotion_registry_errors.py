"""The promotion gate against a real `mlflow server`: only "no such model / alias" means "no champion".

A registry that fails (answers 500, or is stopped) while a champion exists must fail the promotion and leave the
`champion` alias where it was; before this was fixed, any MlflowException read as "no champion yet" and the
challenger was promoted without being compared.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bodyfat_assets.testing.services import mlflow_server
from bodyfat_assets.tracking import CHAMPION, Tracker, TrackingConfig, promote_challenger
from tests.support.fault_proxy import fault_proxy

pytestmark = pytest.mark.integration
MODEL = "bodyfat"
# The challenger (v2) is better than the champion (v1): an unchecked promotion would move the alias.
TEST_RMSE = {"1": 4.0, "2": 3.0}


def alias_lookup(method: str, path: str) -> bool:
    return method == "GET" and path.startswith("/api/2.0/mlflow/registered-models/alias")


@pytest.fixture(autouse=True)
def no_client_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow retries a 5xx 7 times with exponential backoff (minutes); one answer is what these tests are about.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")


def registry_with_champion(url: str) -> MlflowClient:
    """Model `bodyfat` with v1 as champion and v2 as challenger (versions without artifacts: scoring is stubbed)."""
    client = MlflowClient(url)
    client.create_registered_model(MODEL)
    run = client.create_run(client.create_experiment("models"))
    for _ in TEST_RMSE:
        client.create_model_version(MODEL, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(MODEL, CHAMPION, "1")
    return client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("registry")
    with mlflow_server(f"sqlite:///{tmp}/mlflow.db", str(tmp / "artifacts"), log_dir=tmp) as url:
        yield url


def tracker_for(url: str, model_name: str = MODEL) -> Tracker:
    return Tracker(TrackingConfig(url, "promotion-test", model_name))


def test_missing_model_or_alias_means_no_champion(server: str) -> None:
    assert tracker_for(server, "no-such-model").version_by_alias(CHAMPION) is None
    MlflowClient(server).create_registered_model("no-alias-yet")
    assert tracker_for(server, "no-alias-yet").version_by_alias(CHAMPION) is None


def test_a_registry_500_fails_the_promotion_and_keeps_the_champion(server: str) -> None:
    client = registry_with_champion(server)
    with fault_proxy(server, alias_lookup) as proxied:
        tracker = tracker_for(proxied)
        with pytest.raises(MlflowException):
            tracker.version_by_alias(CHAMPION)
        with pytest.raises(MlflowException):
            promote_challenger(tracker, "2", TEST_RMSE.__getitem__, TEST_RMSE.__getitem__, margin=0.0)
    assert client.get_model_version_by_alias(MODEL, CHAMPION).version == "1"
    assert "promotion_decision" not in client.get_model_version(MODEL, "2").tags
    # The same call through a healthy registry compares and promotes: the failure above was the registry's.
    promotion = promote_challenger(tracker_for(server), "2", TEST_RMSE.__getitem__, TEST_RMSE.__getitem__, margin=0.0)
    assert (promotion.promoted, promotion.previous_version, promotion.champion_rmse) == (True, "1", 4.0)
    assert client.get_model_version_by_alias(MODEL, CHAMPION).version == "2"


def test_a_stopped_registry_is_an_error_not_a_missing_champion(tmp_path: Path) -> None:
    backend, artifacts = f"sqlite:///{tmp_path}/mlflow.db", str(tmp_path / "artifacts")
    with mlflow_server(backend, artifacts, log_dir=tmp_path) as url:
        registry_with_champion(url)
        tracker = tracker_for(url)
    with pytest.raises(MlflowException):
        tracker.version_by_alias(CHAMPION)
    with pytest.raises(MlflowException):
        promote_challenger(tracker, "2", TEST_RMSE.__getitem__, TEST_RMSE.__getitem__, margin=0.0)
    with mlflow_server(backend, artifacts, log_dir=tmp_path) as url:
        assert MlflowClient(url).get_model_version_by_alias(MODEL, CHAMPION).version == "1"
