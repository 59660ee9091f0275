"""Served performance: labels joined to the prediction log the serving API writes (its own Parquet encoding), per
model version and day, unmatched labels kept apart."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from bodyfat_contract import CALLER_ID, FEATURE_NAMES
from prometheus_client import CollectorRegistry

from bodyfat_assets.core.health.served import (
    join_labels,
    latest_labels,
    measure_labels,
    performance_by_version,
    served_performance,
    shadow_evidence,
    status_counts,
)
from bodyfat_assets.core.health.served_log import read_served_log
from bodyfat_assets.lake import LocalStore
from serving.model_store import LoadedModel
from serving.prediction_log import Entry, LocalSink, PredictionLog, to_columns, to_parquet

DAY1, DAY2 = 1_700_000_000.0, 1_700_086_400.0  # 2023-11-14 and 2023-11-15, UTC
V1 = LoadedModel("bodyfat", "1", "registry", None, FEATURE_NAMES, half_width=2.0)
V2 = LoadedModel("bodyfat", "2", "registry", None, FEATURE_NAMES, half_width=3.0)
ROW = tuple(20.0 for _ in FEATURE_NAMES)


def served_log() -> pd.DataFrame:
    """What the API wrote: singles of version 1 on day 1 (one sent twice under caller id 'x'), a batch of version 2
    on day 2."""
    entries = [
        Entry("a", DAY1, "/predict", V1, ROW, 10.0, "x"),
        Entry("b", DAY1 + 60, "/predict", V1, ROW, 20.0),
        Entry("c", DAY1 + 120, "/predict", V1, ROW, 30.0, "x"),  # the retry: the answer the caller kept
        Entry(["d-0", "d-1"], DAY2, "/predict/batch", V2, {n: [1.0, 2.0] for n in FEATURE_NAMES},
              np.array([15.0, 25.0]), ["y", None]),
    ]  # fmt: skip
    return pd.read_parquet(io.BytesIO(to_parquet(to_columns(entries))))


def test_labels_join_by_prediction_id_or_latest_caller_id_and_unmatched_are_kept() -> None:
    labels = pd.DataFrame({
        "prediction_id": ["b", None, "d-1", "nope", None, "d-1"],
        CALLER_ID: [None, "x", None, None, "unknown", None],
        "BodyFat": [22.0, 31.0, 99.0, 12.0, 14.0, 24.0],  # the second d-1 label corrects the first
    })  # fmt: skip
    join = join_labels(served_log(), labels)
    assert dict(zip(join.joined["prediction_id"], join.joined["BodyFat"], strict=True)) == {
        "b": 22.0, "c": 31.0, "d-1": 24.0}
    assert join.unmatched["BodyFat"].tolist() == [12.0, 14.0]


def test_served_performance_per_version_and_day() -> None:
    labels = pd.DataFrame({"prediction_id": ["a", "b", "c", "d-0", "d-1"], "BodyFat": [11.0, 23.0, 30.0, 10.0, 26.0]})
    table = served_performance(join_labels(served_log(), labels).joined).set_index(["model_version", "day"])
    v1 = table.loc[("1", "2023-11-14")]
    assert v1["rows"] == 3 and math.isclose(v1["rmse"], math.sqrt((1 + 9 + 0) / 3))
    assert math.isclose(v1["mae"], 4 / 3) and math.isclose(v1["bias"], (1 + 3 + 0) / 3)
    assert math.isclose(v1["coverage"], 2 / 3)  # |3| > half width 2
    v2 = table.loc[("2", "2023-11-15")]
    assert v2["rows"] == 2 and math.isclose(v2["bias"], (-5 + 1) / 2) and math.isclose(v2["coverage"], 0.5)
    assert len(table) == 2


def test_no_labels_no_rows() -> None:
    empty = join_labels(served_log(), pd.DataFrame({"prediction_id": [], "BodyFat": []}))
    assert empty.joined.empty and empty.unmatched.empty and served_performance(empty.joined).empty


def test_every_label_row_keeps_its_fate_and_reason() -> None:
    labels = pd.DataFrame({
        "prediction_id": ["b", None, "d-1", "nope", None, "d-1", "a", None],
        CALLER_ID: [None, "x", None, None, None, None, None, "x"],
        "BodyFat": [22.0, 31.0, 99.0, 12.0, 14.0, 24.0, 80.0, None],
    })  # fmt: skip
    measured = measure_labels(served_log(), labels)
    assert measured["label_row"].tolist() == list(range(1, 9))
    assert measured["status"].tolist() == ["matched", "matched", "quarantined", "unmatched", "quarantined",
                                           "matched", "quarantined", "quarantined"]  # fmt: skip
    assert "BodyFat 99 % outside [2, 60]" in measured.loc[2, "reason"]
    assert measured.loc[4, "reason"] == "no prediction_id and no id"
    assert "missing" in measured.loc[7, "reason"] and measured.loc[3, "reason"].startswith("no logged prediction")
    matched = measured[measured["status"] == "matched"].set_index("prediction_id")
    assert matched.loc["c", "model_version"] == "1" and matched.loc["c", "body_fat_pct"] == 30.0  # caller x's retry
    assert matched.loc["d-1", "model_version"] == "2" and matched.loc["d-1", "interval_high"] == 28.0
    assert status_counts(measured) == {"matched": 3, "unmatched": 1, "superseded": 0, "quarantined": 4}


def test_a_repeated_label_supersedes_the_earlier_one() -> None:
    labels = pd.DataFrame({"prediction_id": ["a", "a"], "BodyFat": [10.0, 11.0]})
    measured = measure_labels(served_log(), labels)
    assert measured["status"].tolist() == ["superseded", "matched"]
    assert served_performance(measured[measured["status"] == "matched"])["rmse"].tolist() == [1.0]


def test_shadow_evidence_compares_both_models_on_the_same_labeled_rows() -> None:
    log = served_log().assign(shadow_model_version=["3", "3", None, "3", "3"],
                              shadow_prediction=[12.0, 20.0, None, 15.0, 30.0])
    labels = pd.DataFrame({"prediction_id": ["a", "b", "c", "d-0", "d-1"], "BodyFat": [11.0, 23.0, 30.0, 10.0, 26.0]})
    joined = measure_labels(log, labels)
    evidence = shadow_evidence(joined[joined["status"] == "matched"], min_rows=2)
    table = evidence.table.set_index(["model_version", "shadow_model_version"])
    assert evidence.rows == 4 and evidence.enough
    v1 = table.loc[("1", "3")]  # rows a and b; c has no shadow prediction
    assert v1["rows"] == 2 and math.isclose(v1["served_rmse"], math.sqrt((1 + 9) / 2))
    assert math.isclose(v1["shadow_rmse"], math.sqrt((1 + 9) / 2)) and math.isclose(v1["shadow_bias"], 1.0)
    v2 = table.loc[("2", "3")]
    assert math.isclose(v2["served_mae"], 3.0) and math.isclose(v2["shadow_mae"], 4.5)
    assert not shadow_evidence(joined[joined["status"] == "matched"], min_rows=3).enough


def test_a_log_without_shadow_columns_is_no_evidence() -> None:
    joined = join_labels(served_log(), pd.DataFrame({"prediction_id": ["a", "b"], "BodyFat": [11.0, 23.0]})).joined
    evidence = shadow_evidence(joined, min_rows=1)
    assert evidence.table.empty and evidence.rows == 0 and not evidence.enough
    assert evidence.summary() == "no labeled served row has a shadow prediction"


def test_latest_labels_across_files_and_performance_per_version() -> None:
    first = measure_labels(served_log(), pd.DataFrame({"prediction_id": ["a", "d-0"], "BodyFat": [99.0, 10.0]}))
    second = measure_labels(served_log(), pd.DataFrame({"prediction_id": ["a"], "BodyFat": [11.0]}))
    latest = latest_labels(pd.concat([first, second], ignore_index=True))
    assert dict(zip(latest["prediction_id"], latest["BodyFat"], strict=True)) == {"a": 11.0, "d-0": 10.0}
    by_version = performance_by_version(latest).set_index("model_version")
    assert by_version.loc["1", "rows"] == 1 and by_version.loc["2", "bias"] == -5.0


def test_the_log_is_read_back_from_the_lake_by_day(tmp_path) -> None:
    store = LocalStore(tmp_path)
    assert read_served_log(store).empty and "prediction_id" in read_served_log(store).columns
    log = PredictionLog(LocalSink(tmp_path), CollectorRegistry())
    for entry in (Entry("a", DAY1, "/predict", V1, ROW, 10.0, "x"), Entry("b", DAY2, "/predict", V2, ROW, 20.0)):
        log.add(entry)
    assert log.flush()
    assert read_served_log(store)["prediction_id"].tolist() == ["a", "b"]
    day2 = read_served_log(store, ["2023-11-15"])
    assert day2["prediction_id"].tolist() == ["b"] and day2["model_version"].tolist() == ["2"]
    assert str(day2["served_at"].dt.tz) == "UTC" and read_served_log(store, ["2023-11-16"]).empty


def test_labels_before_anything_was_logged_are_all_unmatched(tmp_path) -> None:
    labels = pd.DataFrame({"prediction_id": ["a", None], CALLER_ID: [None, "x"], "BodyFat": [20.0, 21.0]})
    measured = measure_labels(read_served_log(LocalStore(tmp_path)), labels)
    assert status_counts(measured) == {"matched": 0, "unmatched": 2, "superseded": 0, "quarantined": 0}
    assert served_performance(measured[measured["status"] == "matched"]).empty
