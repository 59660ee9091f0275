"""The prediction log: ids returned, records written to S3 (moto's server) and to a folder by a real API process,
requests unaffected while the lake is down or slow, drops counted, SIGTERM flushes what is queued."""

from __future__ import annotations

import io
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import CALLER_ID, FEATURE_NAMES
from prometheus_client import CollectorRegistry

from bodyfat_assets.testing.services import s3_server, wait_until
from serving.model_store import LoadedModel
from serving.prediction_log import PREFIX, Entry, PredictionLog, object_key, to_columns, to_parquet
from serving.schemas import EXAMPLE_RECORD
from tests.support.fault_proxy import fault_proxy
from tests.support.serving_process import serving_process

BUCKET = "lake-bucket"
SECRET = "s3-secret-never-logged"
API_KEY = "api-key-never-logged"
MODEL = LoadedModel("bodyfat", "3", "registry", None, tuple(reversed(FEATURE_NAMES)), half_width=5.0)


class FlakySink:
    url = "memory://flaky"

    def __init__(self) -> None:
        self.down = False
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        if self.down:
            raise ConnectionError("lake down")
        self.objects[key] = data


def record(i: int) -> dict[str, float]:
    return {**EXAMPLE_RECORD, "Age": 20 + i % 60}


def test_columns_keep_received_values_model_order_and_caller_ids() -> None:
    columnar = {name: [EXAMPLE_RECORD[name], EXAMPLE_RECORD[name] + 1] for name in FEATURE_NAMES}
    entries = [
        Entry("a", 0.0, "/predict", MODEL, tuple(EXAMPLE_RECORD[n] for n in FEATURE_NAMES), 10.0, 7),
        Entry(["b-0", "b-1"], 3600.5, "/predict/batch", MODEL, columnar, np.array([11.0, 12.0]), ["x", None]),
    ]
    frame = pd.read_parquet(io.BytesIO(to_parquet(to_columns(entries))))
    assert frame["prediction_id"].tolist() == ["a", "b-0", "b-1"]
    assert frame[CALLER_ID].tolist() == ["7", "x", None]
    assert frame["Weight"].tolist() == [154.25, 154.25, 155.25]
    assert frame["interval_low"].tolist() == [5.0, 6.0, 7.0]
    assert frame["features_used"].iloc[0].split(",") == list(reversed(FEATURE_NAMES))
    assert frame["served_at"].dt.tz is not None and frame["served_at"].iloc[1].hour == 1
    assert object_key(3600.0).startswith(f"{PREFIX}/date=1970-01-01/hour=01/")


def test_bounded_queue_drops_and_counts_while_down_then_resumes_in_order() -> None:
    sink, registry = FlakySink(), CollectorRegistry()
    plog = PredictionLog(sink, registry, max_rows=5, flush_s=3600, flush_rows=1000)
    entry = lambda pid: Entry(pid, time.time(), "/predict", MODEL, tuple(range(13)), 1.0)  # noqa: E731
    sink.down = True
    for i in range(8):
        plog.add(entry(f"p{i}"))
    assert plog.flush() is False
    assert plog.status.queued_rows == 5 and plog.status.dropped_rows == 3
    assert registry.get_sample_value("bodyfat_prediction_log_dropped_total") == 3
    plog.add(entry("p8"))  # still full: the unwritten rows were kept, so this one is dropped too
    sink.down = False
    plog.add(entry("late"))  # dropped: the queue is still full until the writer succeeds
    assert plog.flush() is True
    plog.add(entry("after"))
    plog.close()
    written = pd.concat(pd.read_parquet(io.BytesIO(data)) for data in sink.objects.values())
    assert written["prediction_id"].tolist() == ["p0", "p1", "p2", "p3", "p4", "after"]
    assert plog.details()["dropped"] == 5 and plog.details()["written"] == 6


def test_off_returns_ids_and_writes_nothing(make_client, tmp_path: Path) -> None:
    client = make_client(lake_url=str(tmp_path), prediction_log=False)
    response = client.post("/predict", json=EXAMPLE_RECORD)
    assert response.json()["prediction_id"] == response.headers["X-Prediction-Id"]
    assert client.get("/ready").json()["prediction_log"] == {"enabled": False}
    client.__exit__(None, None, None)
    assert not list(tmp_path.rglob("*.parquet"))


def test_caller_id_is_validated(make_client) -> None:
    client = make_client()
    assert client.post("/predict", json={**EXAMPLE_RECORD, CALLER_ID: "x" * 129}).status_code == 422
    assert client.post("/predict", json={**EXAMPLE_RECORD, CALLER_ID: 1.5}).status_code == 422
    assert client.post("/predict/batch", json=[{**EXAMPLE_RECORD, CALLER_ID: "a"}, EXAMPLE_RECORD]).status_code == 200


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    with s3_server() as url:
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k",
                     aws_secret_access_key=SECRET).create_bucket(Bucket=BUCKET)  # fmt: skip
        yield url


def s3_records(moto_url: str) -> pd.DataFrame:
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="k",
                          aws_secret_access_key=SECRET)  # fmt: skip
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="lake/")
            for o in page.get("Contents", [])]  # fmt: skip
    assert all(k.startswith(f"lake/{PREFIX}/date=") and "/hour=" in k and k.endswith(".parquet") for k in keys)
    frames = [pd.read_parquet(io.BytesIO(client.get_object(Bucket=BUCKET, Key=k)["Body"].read())) for k in keys]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["prediction_id"])


def s3_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"BODYFAT_SERVING_LAKE_URL": f"s3://{BUCKET}/lake", "S3_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_DEFAULT_REGION": "us-east-1",
            "BODYFAT_SERVING_PREDICTION_LOG_FLUSH_S": "0.3", "BODYFAT_SERVING_PREDICTION_LOG_TIMEOUT_S": "1",
            **extra}  # fmt: skip


def served_ids(client: httpx.Client, url: str) -> list[str]:
    """Single rows (with and without the caller's id), a batch and /invocations; every id the API returned."""
    ids = []
    for i in range(30):
        response = client.post(f"{url}/predict", json={**record(i), **({CALLER_ID: f"c{i}"} if i % 2 else {})})
        assert response.status_code == 200
        assert response.json()["prediction_id"] == response.headers["X-Prediction-Id"]
        ids.append(response.json()["prediction_id"])
    batch = client.post(f"{url}/predict/batch", json={"columns": {n: [v] * 20 for n, v in EXAMPLE_RECORD.items()}})
    assert batch.status_code == 200 and len(batch.json()["prediction_ids"]) == 20
    invocations = client.post(f"{url}/invocations", json={"dataframe_records": [EXAMPLE_RECORD] * 10})
    assert invocations.status_code == 200 and len(invocations.json()["prediction_ids"]) == 10
    # The Open Inference Protocol's answer has no place for ids: its batch id is the header, rows are <id>-<row>.
    row = [float(EXAMPLE_RECORD[n]) for n in FEATURE_NAMES]
    v2 = client.post(f"{url}/v2/models/bodyfat/infer",
                     json={"inputs": [{"name": "x", "shape": [5, 13], "datatype": "FP64", "data": [row] * 5}]})
    assert v2.status_code == 200, v2.text
    v2_ids = [f"{v2.headers['X-Prediction-Id']}-{i}" for i in range(5)]
    return ids + batch.json()["prediction_ids"] + invocations.json()["prediction_ids"] + v2_ids


def test_api_writes_every_prediction_to_s3_once(moto: str, tmp_path: Path) -> None:
    with serving_process(tmp_path, **s3_env(moto)) as api, httpx.Client(timeout=10) as client:
        before = set(s3_records(moto)["prediction_id"])
        ids = served_ids(client, api.url)
        assert len(set(ids)) == len(ids) == 65
        wait_until(lambda: set(s3_records(moto)["prediction_id"]) - before == set(ids), 20, "65 records in S3")
        frame = s3_records(moto).set_index("prediction_id").loc[ids]
        assert frame[CALLER_ID].iloc[:30].tolist() == [f"c{i}" if i % 2 else None for i in range(30)]
        assert frame["Age"].iloc[:30].tolist() == [float(20 + i % 60) for i in range(30)]
        assert set(frame["model_source"]) == {"fallback"}
        assert frame["endpoint"].value_counts().to_dict() == {"/predict": 30, "/predict/batch": 20,
                                                              "/invocations": 10, "/v2/models/bodyfat/infer": 5}
        assert SECRET not in api.log_path.read_text()


def test_lake_down_and_slow_requests_unaffected_drops_counted_then_resumes(moto: str, tmp_path: Path) -> None:
    down = threading.Event()

    def fail(method: str, path: str) -> bool:
        if down.is_set():
            time.sleep(2)  # slow and then failing: a stalled lake must not hold a request either
            return True
        return False

    with fault_proxy(moto, fail) as lake, serving_process(
        tmp_path, **s3_env(lake, BODYFAT_SERVING_PREDICTION_LOG_MAX_ROWS="40")
    ) as api, httpx.Client(timeout=10) as client:
        before = set(s3_records(moto)["prediction_id"])
        down.set()
        slowest, ids = 0.0, []
        for i in range(150):
            start = time.perf_counter()
            response = client.post(f"{api.url}/predict", json=record(i))
            slowest = max(slowest, time.perf_counter() - start)
            assert response.status_code == 200
            ids.append(response.json()["prediction_id"])
            time.sleep(0.01)  # 1.5 s: the writer tries (and stalls) while requests keep coming
        assert slowest < 0.5, f"a request took {slowest:.2f} s while the lake was down"
        details = lambda: client.get(f"{api.url}/ready").json()["prediction_log"]  # noqa: E731
        wait_until(lambda: details()["last_error"] is not None, 20, "the failed write in /ready")
        ready = details()
        assert ready["dropped"] == 110 and ready["queued"] == 40 and ready["failing_since"]
        metrics = client.get(f"{api.url}/metrics").text
        assert "bodyfat_prediction_log_dropped_total 110.0" in metrics
        down.clear()
        more = [client.post(f"{api.url}/predict", json=EXAMPLE_RECORD) for _ in range(5)]
        assert all(r.status_code == 200 for r in more)  # dropped too: the queue is full until the lake answers
        wait_until(lambda: len(set(s3_records(moto)["prediction_id"]) - before) == 40, 60, "the 40 kept rows")
        written = set(s3_records(moto)["prediction_id"]) - before
        assert written == set(ids[:40])
        after = client.post(f"{api.url}/predict", json=EXAMPLE_RECORD).json()["prediction_id"]
        wait_until(lambda: after in set(s3_records(moto)["prediction_id"]), 20, "a record after the outage")
        log_text = api.log_path.read_text()
        assert "prediction log: writing to s3://" in log_text and "again after" in log_text
        assert SECRET not in log_text


def test_sigterm_writes_what_is_queued_to_a_folder_and_no_key_is_recorded(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    env = {"BODYFAT_SERVING_LAKE_URL": str(lake), "BODYFAT_SERVING_PREDICTION_LOG_FLUSH_S": "3600",
           "BODYFAT_SERVING_API_KEY": API_KEY}  # fmt: skip
    with serving_process(tmp_path, **env) as api, httpx.Client(timeout=10, headers={"X-API-Key": API_KEY}) as client:
        ids = served_ids(client, api.url)
        assert client.get(f"{api.url}/ready").json()["prediction_log"]["queued"] == 65
        assert not list(lake.rglob("*.parquet"))  # nothing written yet: flushes are an hour apart
        api.proc.send_signal(signal.SIGTERM)
        api.proc.wait(30)
        assert api.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after its shutdown
    files = list(lake.glob(f"{PREFIX}/date=*/hour=*/*.parquet"))
    frame = pd.concat(pd.read_parquet(f) for f in files)
    assert sorted(frame["prediction_id"]) == sorted(ids)
    assert not list(lake.rglob(".*"))  # no partial dot-file left behind
    for path in [*files, api.log_path]:
        assert API_KEY.encode() not in path.read_bytes()
