"""Served performance: body fat measured after the fact (DEXA, underwater weighing), joined to the predictions the
API actually served (its prediction log), per model version and per day.

A label names its prediction by `prediction_id` (what the API returned) or, failing that, by the caller's own `id`
sent with the request. The caller's id may have been sent more than once (a retried request): the label then goes
to the latest prediction served under it, the answer the caller kept. Labels that match no logged prediction are
returned apart, to be counted and shown, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from bodyfat_contract import CALLER_ID, TARGET

from bodyfat_assets.core.health.live import live_performance

PREDICTION_ID = "prediction_id"
SERVED_AT = "served_at"
MODEL_VERSION = "model_version"
DAY = "day"


@dataclass(frozen=True)
class LabelJoin:
    joined: pd.DataFrame
    """Logged predictions with their label (`BodyFat`), one row per labeled prediction."""
    unmatched: pd.DataFrame
    """Label rows that match no logged prediction."""


def _key(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    values = frame[column].astype("string").str.strip()
    return values.mask(values == "")


def join_labels(log: pd.DataFrame, labels: pd.DataFrame) -> LabelJoin:
    """Labels joined to the log by `prediction_id`, else by the caller's `id`. When several labels name the same
    prediction, the last one in `labels` wins (a correction sent later)."""
    pid, caller = _key(labels, PREDICTION_ID), _key(labels, CALLER_ID)
    by_pid = log.assign(_pid=_key(log, PREDICTION_ID)).dropna(subset=["_pid"]).drop_duplicates("_pid", keep="last")
    latest_by_caller = (log.assign(_caller=_key(log, CALLER_ID)).dropna(subset=["_caller"])
                        .sort_values(SERVED_AT, kind="stable").drop_duplicates("_caller", keep="last"))  # fmt: skip
    target = pd.to_numeric(labels[TARGET.name], errors="coerce")
    found = pd.Series(pd.NA, index=labels.index, dtype="string")
    known_pid = pid.isin(set(by_pid["_pid"]))
    found[known_pid] = pid[known_pid]
    via_caller = ~known_pid & pid.isna() & caller.isin(set(latest_by_caller["_caller"]))
    caller_to_pid = dict(zip(latest_by_caller["_caller"], _key(latest_by_caller, PREDICTION_ID), strict=True))
    found[via_caller] = caller[via_caller].map(caller_to_pid)
    matched = found.notna() & target.notna()
    chosen = pd.DataFrame({"_pid": found[matched], TARGET.name: target[matched]}).drop_duplicates("_pid", keep="last")
    joined = by_pid.merge(chosen, on="_pid", how="inner").drop(columns="_pid")
    return LabelJoin(joined=joined, unmatched=labels[found.isna()])


def served_performance(joined: pd.DataFrame) -> pd.DataFrame:
    """Per model version and UTC day served: rows, RMSE, MAE, bias (actual - predicted) and 90 % coverage."""
    if joined.empty:
        return pd.DataFrame(columns=[MODEL_VERSION, DAY, "rows", "rmse", "mae", "bias", "coverage"])
    days = pd.to_datetime(joined[SERVED_AT], utc=True).dt.strftime("%Y-%m-%d")
    rows = []
    for (version, day), group in joined.assign(**{DAY: days}).groupby([MODEL_VERSION, DAY], sort=True):
        half_width = float(np.median((group["interval_high"] - group["interval_low"]) / 2))
        perf = live_performance(group[TARGET.name].to_numpy(), group["body_fat_pct"].to_numpy(), half_width)
        rows.append({MODEL_VERSION: version, DAY: day, **perf.as_dict()})
    return pd.DataFrame(rows)
