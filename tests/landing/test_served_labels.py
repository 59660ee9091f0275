"""Labels for served predictions through the landing sensor and the served_performance / served_traffic runs, in
process on a temporary lake: the sensor takes a labels file like the other kinds, the run joins it to a log the
serving API's own writer wrote, and each day of the log gets the scoring files' drift check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES
from dagster import AssetKey, materialize
from prometheus_client import CollectorRegistry

from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.defs.health.assets import served_traffic
from bodyfat_assets.defs.jobs import LABELS_JOB
from bodyfat_assets.lake import SPLITS_KEY, LocalStore, frame_to_parquet, parquet_to_frame
from bodyfat_assets.partitions import landed_files
from serving.model_store import LoadedModel
from serving.prediction_log import Entry, LocalSink, PredictionLog

DAY1, DAY2 = 1_772_323_200.0, 1_772_409_600.0  # 2026-03-01 and 2026-03-02, UTC
V1 = LoadedModel("bodyfat", "1", "registry", None, FEATURE_NAMES, half_width=5.0)
V2 = LoadedModel("bodyfat", "2", "registry", None, FEATURE_NAMES, half_width=5.0)


def write_log(lake_url: str, rows: pd.DataFrame, start: float, model: LoadedModel, prefix: str) -> list[str]:
    """`rows` served one by one by `model` from `start` on, a minute apart, written by the API's own log writer;
    their prediction ids (`<prefix><i>`), the caller's id `caller-<prefix><i>`."""
    log = PredictionLog(LocalSink(lake_url), CollectorRegistry(), max_rows=100_000)
    ids = [f"{prefix}{i}" for i in range(len(rows))]
    for i, (pid, row) in enumerate(zip(ids, rows[list(FEATURE_NAMES)].itertuples(index=False), strict=True)):
        log.add(Entry(pid, start + 60 * i, "/predict", model, tuple(row), 20.0, f"caller-{pid}"))
    assert log.flush()
    return ids


def test_a_labels_file_is_taken_in_like_the_other_kinds(harness):
    data = b"prediction_id,BodyFat\na,20\nb,21\n"
    harness.land("labels/dexa.csv", data)
    [request] = harness.tick().run_requests
    key = partition_key_for("dexa.csv", content_hash(data))
    assert (request.job_name, request.partition_key, landed_files(request.tags)) == (LABELS_JOB, key, {key: "dexa.csv"})
    assert harness.partitions("labels") == [key], "no seed partition: nothing was served for the seed"
    harness.queue(request)
    harness.land("labels/again.csv", data)
    assert harness.tick().run_requests == []
    [reason] = [k for k in harness.store.list_keys("rejected/labels/") if k.endswith(".reason.json")]
    assert json.loads(harness.store.read_bytes(reason))["reason"] == "duplicate_content"


def test_a_bad_labels_file_is_rejected_with_its_reason_and_blocks_nothing(harness, labeled_frame):
    harness.land("labels/no-key.csv", b"BodyFat\n20\n21\n")
    harness.land("train/batch.csv", labeled_frame.to_csv(index=False).encode())
    result = harness.tick()
    assert [r.partition_key.split("-")[0] for r in result.run_requests] == ["batch"]
    [reason] = [k for k in harness.store.list_keys("rejected/labels/") if k.endswith(".reason.json")]
    record = json.loads(harness.store.read_bytes(reason))
    assert record["reason"] == "wrong_header" and "no key column" in record["detail"]
    assert not harness.store.exists("labels/no-key.csv") and harness.partitions("labels") == []


def test_served_performance_measures_each_version_and_keeps_every_label(harness, seed_frame):
    lake = harness.settings.lake_url
    ids_v1 = write_log(lake, seed_frame.head(10), DAY1, V1, "one-")
    ids_v2 = write_log(lake, seed_frame.iloc[10:16], DAY2, V2, "two-")
    labels = pd.DataFrame({"prediction_id": [*ids_v1[:9], *ids_v2, None, "lost", None],
                           "id": [*[None] * 15, "caller-one-9", None, None],
                           "BodyFat": [*[22.0] * 9, *[19.0] * 6, 30.0, 18.0, 99.0]})
    data = labels.to_csv(index=False).encode()
    harness.land("labels/dexa.csv", data)
    [request] = harness.tick().run_requests
    job = harness.defs.resolve_job_def(LABELS_JOB)
    result = job.execute_in_process(partition_key=request.partition_key, instance=harness.instance,
                                    tags=request.tags)
    assert result.success
    [materialization] = result.asset_materializations_for_node("served_performance")
    metadata = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    assert (metadata["labels"], metadata["matched"], metadata["unmatched"], metadata["quarantined"]) == (18, 16, 1, 1)
    by_day = {(r.data["model_version"], r.data["day"]): r.data for r in metadata["by_version_and_day"].records}
    assert set(by_day) == {("1", "2026-03-01"), ("2", "2026-03-02")}
    assert by_day[("1", "2026-03-01")]["rows"] == 10 and by_day[("2", "2026-03-02")]["bias"] == -1.0
    assert by_day[("2", "2026-03-02")]["coverage"] == 1.0  # |19 - 20| within ±5
    not_measured = {r.data["status"]: r.data for r in metadata["not_measured"].records}
    assert not_measured["unmatched"]["prediction_id"] == "lost"
    assert "BodyFat 99" in not_measured["quarantined"]["reason"] and not_measured["quarantined"]["label_row"] == 18
    store = LocalStore(f"{lake}/landing")
    assert store.exists(f"processed/labels/{request.partition_key}.csv") and not store.exists("labels/dexa.csv")
    kept = parquet_to_frame(LocalStore(lake).read_bytes(f"served_performance/{request.partition_key}.parquet"))
    assert len(kept) == len(labels), "every label row is kept, with its fate"


def test_each_day_of_served_traffic_gets_the_drift_check(harness, seed_frame):
    lake = harness.settings.lake_url
    LocalStore(lake).write_bytes(SPLITS_KEY, frame_to_parquet(seed_frame.assign(split="train", source=SEED_PARTITION)))
    rows = seed_frame.sample(80, random_state=3)
    write_log(lake, rows, DAY1, V1, "plain-")
    write_log(lake, rows.assign(Abdomen=rows["Abdomen"] + 15, Weight=rows["Weight"] + 40), DAY2, V2, "shifted-")
    resources = {"health": harness.defs.resources["health"], "io_manager": harness.defs.resources["io_manager"]}
    verdicts = {}
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        result = materialize([served_traffic], partition_key=day, resources=resources, instance=harness.instance)
        [check] = result.get_asset_check_evaluations()
        verdicts[day] = check
        [materialization] = result.asset_materializations_for_node("served_traffic")
        assert materialization.metadata["predictions"].value == (80 if day != "2026-03-03" else 0)
    assert verdicts["2026-03-01"].passed
    shifted = verdicts["2026-03-02"]
    assert not shifted.passed and shifted.severity.value == "WARN"
    assert {"Abdomen", "Weight"} <= set(shifted.description.removeprefix("drifted: ").split(", "))
    assert verdicts["2026-03-03"].passed and verdicts["2026-03-03"].description == "nothing served that day"
    assert harness.instance.get_latest_materialization_event(AssetKey("served_traffic")) is not None
    assert np.isfinite(shifted.metadata["drifted"].value)
