"""Served performance: labels joined to the prediction log the serving API writes (its own Parquet encoding), per
model version and day, unmatched labels kept apart."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from bodyfat_contract import CALLER_ID, FEATURE_NAMES

from bodyfat_assets.core.health.served import join_labels, served_performance
from serving.model_store import LoadedModel
from serving.prediction_log import Entry, to_columns, to_parquet

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
