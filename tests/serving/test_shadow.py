"""The shadow challenger: logged beside the champion, never returned, never able to change an answer or fail a
request. Real uvicorn processes against a real `mlflow server` holding a champion and a different challenger; the
failure paths in-process, with a challenger that breaks after its warm-up."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import CALLER_ID, FEATURE_NAMES, model_features

from bodyfat_assets.testing.contract_model import log_contract_model, training_frame
from bodyfat_assets.testing.services import mlflow_server, wait_until
from bodyfat_assets.testing.serving_fakes import FakeSource
from serving.model_store import LoadedModel, from_card, load_fallback
from serving.prediction_log import ID_HEADER, PREFIX
from serving.schemas import EXAMPLE_RECORD
from serving.settings import FALLBACK_DIR
from tests.support.registry_api import POLL_S, ready, serving_api

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SHADOW_COLUMNS = ["shadow_model_version", "shadow_prediction"]


def lake_records(lake: Path) -> pd.DataFrame:
    files = sorted(lake.glob(f"{PREFIX}/date=*/hour=*/*.parquet"))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files else pd.DataFrame(
        columns=["prediction_id", *SHADOW_COLUMNS])  # fmt: skip


def breakable_challenger() -> tuple[LoadedModel, threading.Event]:
    """The fallback's estimator + 3 as registry version 2; NaN for rows aged 65 and over, and raising once the
    returned event is set (after its warm-up, which a model failing from the start would not pass)."""
    base = load_fallback(FALLBACK_DIR)
    broken = threading.Event()
    age = base.features.index("Age")

    class Breakable:
        def predict(self, rows: object) -> np.ndarray:
            if broken.is_set():
                raise RuntimeError("challenger broke")
            values = base.estimator.predict(rows) + 3.0
            return np.where(np.asarray(rows, dtype=np.float64)[:, age] >= 65, np.nan, values)

    card = {"features": list(base.features), "interval_half_width_90": 5.0}
    return from_card(Breakable(), card, name="bodyfat", version="2", alias="challenger", source="registry"), broken


def test_failing_challenger_is_counted_and_leaves_nulls_requests_unaffected(make_client, fake_source,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    challenger, broken = breakable_challenger()
    lake = tmp_path / "lake"
    client = make_client(fake_source, challenger_source=FakeSource({"2": challenger}, champion="2"),
                         lake_url=str(lake), shadow_challenger=True, prediction_log_flush_s=3600)  # fmt: skip
    assert client.get("/ready").json()["shadow"]["version"] == "2"
    answers = [client.post("/predict", json={**EXAMPLE_RECORD, "Age": age}) for age in (30, 70, 40)]
    plog = client.app.state.prediction_log
    assert plog.flush()
    broken.set()
    batch = client.post("/predict/batch", json=[EXAMPLE_RECORD] * 4)
    assert plog.flush()
    assert [r.status_code for r in [*answers, batch]] == [200] * 4
    metrics = client.get("/metrics").text
    assert "bodyfat_shadow_failures_total 5.0" in metrics  # the aged-70 row's NaN, then the 4 rows it raised on
    assert "bodyfat_shadow_predictions_total 2.0" in metrics
    state = client.get("/ready").json()
    assert state["shadow"]["last_error"] == "RuntimeError: challenger broke" and state["status"] == "ready"
    frame = lake_records(lake).set_index("prediction_id")
    singles = frame.loc[[r.json()["prediction_id"] for r in answers]]
    assert singles["shadow_model_version"].tolist() == ["2", "2", "2"]
    expected = singles["body_fat_pct"] + 3.0
    assert singles["shadow_prediction"].iloc[[0, 2]].tolist() == pytest.approx(expected.iloc[[0, 2]].tolist())
    assert pd.isna(singles["shadow_prediction"].iloc[1])
    rows = frame.loc[batch.json()["prediction_ids"]]
    assert rows["shadow_model_version"].isna().all() and rows["shadow_prediction"].isna().all()
    assert all("shadow" not in r.text for r in [*answers, batch])


def test_challenger_naming_the_champion_is_never_loaded(make_client, fake_source, tmp_path: Path) -> None:
    same = FakeSource(dict(fake_source.models), champion="1")
    client = make_client(fake_source, challenger_source=same, lake_url=str(tmp_path), shadow_challenger=True)
    assert client.get("/ready").json()["shadow"]["version"] is None
    assert client.post("/predict", json=EXAMPLE_RECORD).status_code == 200
    assert same.loads == []


@pytest.fixture(scope="module")
def registry_with_challenger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` with champion v1 (ridge, alpha 1) and challenger v2 (ridge, alpha 50); its URL."""
    import mlflow

    tmp = tmp_path_factory.mktemp("shadow-registry")
    with pytest.MonkeyPatch.context() as patch, mlflow_server(
        f"sqlite:///{tmp}/mlflow.db", str(tmp / "artifacts"), log_dir=tmp
    ) as url:
        patch.setenv("MLFLOW_TRACKING_URI", url)
        mlflow.set_tracking_uri(url)
        assert log_contract_model("bodyfat", alpha=1.0) == "1"
        assert log_contract_model("bodyfat", alpha=50.0, alias="challenger") == "2"
        yield url


def set_challenger(version: str | None) -> None:
    import mlflow

    client = mlflow.MlflowClient()
    if version is None:
        client.delete_registered_model_alias("bodyfat", "challenger")
    else:
        client.set_registered_model_alias("bodyfat", "challenger", version)


def version_predictions(version: str, frame: pd.DataFrame) -> np.ndarray:
    import mlflow.sklearn

    return mlflow.sklearn.load_model(f"models:/bodyfat/{version}").predict(frame[model_features()])


def requests_to_send(rows: pd.DataFrame) -> list[tuple[str, dict[str, str], bytes]]:
    """(path, headers, body) covering every logged endpoint: single rows with and without the caller's id, a batch
    of records and of columns, MLflow's JSON and CSV, and the Open Inference Protocol."""
    records = [{name: float(row[name]) for name in FEATURE_NAMES} for _, row in rows.iterrows()]
    json_ = {"content-type": "application/json"}
    sends = [("/predict", json_, json.dumps({**rec, **({CALLER_ID: f"c{i}"} if i % 2 else {})}).encode())
             for i, rec in enumerate(records[:6])]  # fmt: skip
    sends.append(("/predict/batch", json_, json.dumps(records[6:16]).encode()))
    sends.append(("/predict/batch", json_, json.dumps({"columns": {n: [r[n] for r in records[16:24]]
                                                                   for n in FEATURE_NAMES}}).encode()))  # fmt: skip
    sends.append(("/invocations", json_, json.dumps({"dataframe_records": records[24:30]}).encode()))
    csv = rows.iloc[30:35][list(FEATURE_NAMES)].to_csv(index=False).encode()
    sends.append(("/invocations", {"content-type": "text/csv"}, csv))
    v2 = {"inputs": [{"name": "x", "shape": [5, 13], "datatype": "FP64",
                      "data": [[r[n] for n in FEATURE_NAMES] for r in records[35:40]]}]}  # fmt: skip
    sends.append(("/v2/models/bodyfat/infer", json_, json.dumps(v2).encode()))
    return sends


def without_id(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and raw body bytes, with this request's prediction id (per process: a random prefix and a
    counter) replaced by a placeholder wherever it occurs (batch rows are `<id>-<row>`); the Date header dropped."""
    pid = response.headers[ID_HEADER]
    assert len(pid) == 32
    headers = [(k, v.replace(pid, "<id>")) for k, v in response.headers.multi_items() if k != "date"]
    return response.status_code, headers, response.content.replace(pid.encode(), b"<id>")


@pytest.mark.integration
def test_challenger_is_logged_never_returned_answers_byte_identical(registry_with_challenger: str,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    set_challenger("2")
    rows = training_frame().iloc[:40]
    lakes = {state: tmp_path / f"lake-{state}" for state in ("on", "off")}
    answers: dict[str, list] = {"on": [], "off": []}
    with ExitStack() as stack, httpx.Client(timeout=30) as client:
        apis = {state: stack.enter_context(serving_api(
            registry_with_challenger, tmp_path, BODYFAT_SERVING_LAKE_URL=str(lake),
            BODYFAT_SERVING_PREDICTION_LOG_FLUSH_S="3600",
            BODYFAT_SERVING_SHADOW_CHALLENGER="true" if state == "on" else "false",
        )) for state, lake in lakes.items()}  # fmt: skip
        for state, api in apis.items():
            assert ready(api)["version"] == "1"
            assert ready(api)["shadow"].get("version") == ("2" if state == "on" else None)
        for path, headers, body in requests_to_send(rows):
            for state, api in apis.items():
                answers[state].append(client.post(api + path, headers=headers, content=body))
        # Leaving the block sends SIGTERM: the shutdown writes what is queued (flushes are an hour apart).
    assert all(r.status_code == 200 for r in answers["on"]), [r.text for r in answers["on"] if r.status_code != 200]
    for on, off in zip(answers["on"], answers["off"], strict=True):
        assert without_id(on) == without_id(off)

    logged = {state: lake_records(lake).sort_values(["endpoint", "prediction_id"]) for state, lake in lakes.items()}
    on, off = logged["on"], logged["off"]
    assert len(on) == len(off) == 40
    assert off[SHADOW_COLUMNS].isna().all().all()
    assert set(on["shadow_model_version"]) == {"2"} and set(on["model_version"]) == {"1"}
    features = on[list(FEATURE_NAMES)].reset_index(drop=True)
    assert on["shadow_prediction"].to_numpy() == pytest.approx(version_predictions("2", features), abs=1e-6)
    assert on["body_fat_pct"].to_numpy() == pytest.approx(version_predictions("1", features), abs=1e-6)
    assert (on["shadow_prediction"] - on["body_fat_pct"]).abs().min() > 1e-6  # the two models differ on every row
    same = ["endpoint", CALLER_ID, *FEATURE_NAMES, "body_fat_pct", "interval_low", "interval_high"]
    pd.testing.assert_frame_equal(on[same].reset_index(drop=True), off[same].reset_index(drop=True))


@pytest.mark.integration
def test_no_challenger_or_the_champions_version_leaves_columns_null_and_moves_are_followed(
    registry_with_challenger: str, tmp_path: Path
) -> None:
    set_challenger("1")
    lake = tmp_path / "lake"
    env = {"BODYFAT_SERVING_LAKE_URL": str(lake), "BODYFAT_SERVING_PREDICTION_LOG_FLUSH_S": "0.2",
           "BODYFAT_SERVING_SHADOW_CHALLENGER": "true"}  # fmt: skip
    with serving_api(registry_with_challenger, tmp_path, **env) as api, httpx.Client(timeout=30) as client:

        def logged(what: str) -> pd.Series:
            pid = client.post(f"{api}/predict", json=EXAMPLE_RECORD).json()["prediction_id"]
            wait_until(lambda: pid in set(lake_records(lake)["prediction_id"]), 20, f"the record {what}")
            return lake_records(lake).set_index("prediction_id").loc[pid]

        assert ready(api)["shadow"]["version"] is None
        same = logged("while the challenger is the champion's version")
        assert same[SHADOW_COLUMNS].isna().all()
        set_challenger("2")
        wait_until(lambda: ready(api)["shadow"]["version"] == "2", 30 * POLL_S, "challenger v2 followed")
        scored = logged("with challenger v2")
        assert scored["shadow_model_version"] == "2" and scored["shadow_prediction"] != scored["body_fat_pct"]
        set_challenger(None)
        wait_until(lambda: ready(api)["shadow"]["version"] is None, 30 * POLL_S, "challenger alias gone")
        gone = logged("without a challenger alias")
        assert gone[SHADOW_COLUMNS].isna().all() and gone["model_version"] == "1"
        state = ready(api)
        assert (state["status"], state["shadow"]["failures"], state["shadow"]["scored"]) == ("ready", 0, 1)
    assert "Traceback" not in next(tmp_path.glob("serving-*.log")).read_text()
