"""Warm before ready: a new champion answers a warm-up batch (its logged input example) before it takes traffic,
`/ready` names the version warming meanwhile, and a model that cannot answer its batch never replaces one that can.
The swap is checked under real uvicorn against a real `mlflow server`, with clients sending requests throughout."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from bodyfat_contract import FEATURE_NAMES

from bodyfat_assets.testing.contract_model import log_contract_model
from bodyfat_assets.testing.services import wait_until
from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.loading import example_rows
from serving.model_store import LoadedModel, ModelStore, load_fallback
from serving.schemas import EXAMPLE_RECORD
from serving.settings import FALLBACK_DIR
from tests.support.registry_api import POLL_S, ready, serving_api, use_tracking

pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")
ROW = [EXAMPLE_RECORD[name] for name in FEATURE_NAMES]


class Recording:
    """An estimator that records the batch sizes it is asked for, and refuses batches larger than `max_rows`."""

    def __init__(self, base: LoadedModel, max_rows: int = 10**6) -> None:
        self.base, self.max_rows, self.sizes = base, max_rows, []

    def predict(self, rows: np.ndarray) -> np.ndarray:
        self.sizes.append(len(rows))
        if len(rows) > self.max_rows:
            raise RuntimeError("batch too large for this model")
        return self.base.estimator.predict(rows)


def with_estimator(model: LoadedModel, estimator: object, example: np.ndarray | None) -> LoadedModel:
    from dataclasses import replace

    return replace(model, estimator=estimator, folded=None, example=example)


def store_for(source: FakeSource) -> ModelStore:
    return ModelStore(lambda: source, fallback=lambda: load_fallback(FALLBACK_DIR), poll_interval_s=3600)


def test_example_rows_from_mlflows_input_example() -> None:
    split = {"columns": list(reversed(FEATURE_NAMES)), "data": [list(reversed(ROW))] * 3}
    assert example_rows(split, FEATURE_NAMES).tolist() == [ROW] * 3
    assert example_rows([EXAMPLE_RECORD], FEATURE_NAMES).tolist() == [ROW]
    assert example_rows({"columns": ["Age"], "data": [[30]]}, FEATURE_NAMES) is None
    assert example_rows(None, FEATURE_NAMES) is None


def test_new_model_answers_its_example_batch_before_the_swap() -> None:
    v2 = registry_model("2")
    estimator = Recording(v2)
    source = FakeSource({"1": registry_model("1")}, champion="1")
    store = store_for(source)
    store.start()
    source.models["2"] = with_estimator(v2, estimator, np.array([ROW] * 5))
    source.champion = "2"
    outcome = store.refresh()
    assert (outcome.outcome, store.current.version) == ("swapped", "2")
    assert 5 in estimator.sizes and outcome.warmup_s is not None
    store.stop()


def test_model_failing_its_warm_up_batch_never_takes_traffic() -> None:
    v2 = registry_model("2")
    source = FakeSource({"1": registry_model("1")}, champion="1")
    store = store_for(source)
    store.start()
    # Passes the load's one-row smoke check, fails on the five rows it was logged with.
    source.models["2"] = with_estimator(v2, Recording(v2, max_rows=1), np.array([ROW] * 5))
    source.champion = "2"
    outcome = store.refresh()
    assert (outcome.outcome, store.current.version) == ("rejected", "1")
    assert store.warming is None
    store.stop()


def test_ready_names_the_version_warming(make_client) -> None:
    release, loading = threading.Event(), threading.Event()
    source = FakeSource({"1": registry_model("1"), "2": registry_model("2")}, champion="1")
    client = make_client(source=source)
    load = source.load

    def slow_load(version: str) -> LoadedModel:
        loading.set()
        release.wait(10)
        return load(version)

    source.load, source.champion = slow_load, "2"
    store = client.app.state.store
    swap = threading.Thread(target=store.refresh)
    swap.start()
    try:
        assert loading.wait(10)
        body = client.get("/ready").json()
        assert (body["status"], body["version"], body["warming"]) == ("ready", "1", "2")
        assert client.post("/predict", json=EXAMPLE_RECORD).json()["model_version"] == "1"
    finally:
        release.set()
        swap.join(10)
    body = client.get("/ready").json()
    assert (body["version"], body["warming"]) == ("2", None)
    assert "bodyfat_model_warmup_seconds_count 2.0" in client.get("/metrics").text  # v1 at start, then v2


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_alias_move_warms_the_new_model_with_zero_failed_requests(registry: str, tmp_path: Path, monkeypatch) -> None:
    use_tracking(registry, monkeypatch)
    assert log_contract_model("bodyfat", alpha=1.0) == "1"
    # A HistGradientBoosting challenger: the family whose first predictions are slow (serving/warmup.py).
    assert log_contract_model("bodyfat", family="hgb", alias="challenger") == "2"
    v2_body = {"inputs": [{"name": "x", "shape": [1, 13], "datatype": "FP64", "data": ROW}]}

    with serving_api(registry, tmp_path) as api:
        wait_until(lambda: ready(api)["version"] == "1", 60, "champion v1 loaded")
        failures: list[str] = []
        served: dict[str, int] = {}
        warming_seen: list[str] = []
        stop = threading.Event()

        def send(path: str, body: dict, version_of: callable) -> None:
            with httpx.Client(base_url=api, timeout=10) as client:
                while not stop.is_set():
                    try:
                        response = client.post(path, json=body)
                        if response.status_code != 200:
                            failures.append(f"{path} {response.status_code} {response.text[:200]}")
                            continue
                        version = version_of(response.json())
                        served[version] = served.get(version, 0) + 1
                    except httpx.HTTPError as exc:
                        failures.append(f"{path} {exc!r}")

        def watch_ready() -> None:
            with httpx.Client(base_url=api, timeout=10) as client:
                while not stop.is_set():
                    warming = client.get("/ready").json()["warming"]
                    if warming is not None:
                        warming_seen.append(warming)

        threads = [
            threading.Thread(target=send, args=("/predict", EXAMPLE_RECORD, lambda b: b["model_version"])),
            threading.Thread(target=send, args=("/v2/models/bodyfat/infer", v2_body, lambda b: b["model_version"])),
            threading.Thread(target=watch_ready),
        ]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: served.get("1", 0) >= 40, 30, "requests flowing on v1")
            import mlflow

            mlflow.MlflowClient().set_registered_model_alias("bodyfat", "champion", "2")
            wait_until(lambda: ready(api)["version"] == "2", 30 * POLL_S, "API serving v2 after the alias moved")
            wait_until(lambda: served.get("2", 0) >= 40, 30, "requests on v2")
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        metrics = httpx.get(f"{api}/metrics", timeout=5).text
        log = (tmp_path / f"serving-{api.rsplit(':', 1)[1]}.log").read_text()

    assert failures == []
    assert set(served) == {"1", "2"}
    # The logged input example is training_frame().head(5): five rows, answered before v2 took traffic.
    assert "version 2 warmed up: 5 rows in" in log
    assert log.index("version 2 warmed up") < log.index("now serving bodyfat version 2")
    assert "bodyfat_model_warmup_seconds_count 2.0" in metrics  # v1 at start, v2 at the swap
    assert set(warming_seen) == {"2"}, "/ready never reported v2 warming"
    warmed = next(line for line in log.splitlines() if "version 2 warmed up" in line)
    print(f"requests: {served}, /ready answers naming v2 warming: {len(warming_seen)}; {warmed}")
