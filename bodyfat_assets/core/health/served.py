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
from bodyfat_contract.prediction_log import (
    HIGH,
    LOW,
    MODEL_VERSION,
    PREDICTION,
    PREDICTION_ID,
    SERVED_AT,
    SHADOW_PREDICTION,
    SHADOW_VERSION,
)

from bodyfat_assets.core.contract_checks import out_of_range
from bodyfat_assets.core.health.live import live_performance

DAY = "day"
LABEL_ROW, STATUS, REASON = "label_row", "status", "reason"
MATCHED, UNMATCHED, SUPERSEDED, QUARANTINED = "matched", "unmatched", "superseded", "quarantined"
"""A label row's fate: joined to its prediction; naming no logged prediction; replaced by a later label for the same
prediction; broken (BodyFat outside the contract, no key), kept with its reason."""
SERVED_COLUMNS = (SERVED_AT, MODEL_VERSION, PREDICTION, LOW, HIGH, SHADOW_VERSION, SHADOW_PREDICTION)
"""What a measured label keeps of the prediction it names."""
PERFORMANCE_COLUMNS = [MODEL_VERSION, DAY, "rows", "rmse", "mae", "bias", "coverage"]


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


def _found(log: pd.DataFrame, labels: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Per label row, the prediction id it names in `log` (NA: none); and the log, one row per prediction id."""
    pid, caller = _key(labels, PREDICTION_ID), _key(labels, CALLER_ID)
    by_pid = log.assign(_pid=_key(log, PREDICTION_ID)).dropna(subset=["_pid"]).drop_duplicates("_pid", keep="last")
    latest_by_caller = (log.assign(_caller=_key(log, CALLER_ID)).dropna(subset=["_caller"])
                        .sort_values(SERVED_AT, kind="stable").drop_duplicates("_caller", keep="last"))  # fmt: skip
    found = pd.Series(pd.NA, index=labels.index, dtype="string")
    known_pid = pid.isin(set(by_pid["_pid"]))
    found[known_pid] = pid[known_pid]
    via_caller = ~known_pid & pid.isna() & caller.isin(set(latest_by_caller["_caller"]))
    caller_to_pid = dict(zip(latest_by_caller["_caller"], _key(latest_by_caller, PREDICTION_ID), strict=True))
    found[via_caller] = caller[via_caller].map(caller_to_pid)
    return found, by_pid


def join_labels(log: pd.DataFrame, labels: pd.DataFrame) -> LabelJoin:
    """Labels joined to the log by `prediction_id`, else by the caller's `id`. When several labels name the same
    prediction, the last one in `labels` wins (a correction sent later)."""
    found, by_pid = _found(log, labels)
    target = pd.to_numeric(labels[TARGET.name], errors="coerce")
    matched = found.notna() & target.notna()
    chosen = pd.DataFrame({"_pid": found[matched], TARGET.name: target[matched]}).drop_duplicates("_pid", keep="last")
    joined = by_pid.merge(chosen, on="_pid", how="inner").drop(columns="_pid")
    return LabelJoin(joined=joined, unmatched=labels[found.isna()])


def measure_labels(log: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Every row of a labels file with its fate (`status`, `reason`): one output row per input row, in file order,
    so nothing is lost. A row whose BodyFat breaks the contract or that names no prediction is quarantined with
    the contract's reason; a matched row carries the prediction it names (`SERVED_COLUMNS`, the log's own)."""
    out = pd.DataFrame({LABEL_ROW: np.arange(1, len(labels) + 1), PREDICTION_ID: _key(labels, PREDICTION_ID),
                        CALLER_ID: _key(labels, CALLER_ID),
                        TARGET.name: pd.to_numeric(labels[TARGET.name], errors="coerce").astype(float)},
                       index=labels.index)  # fmt: skip
    reasons = out_of_range(labels, [TARGET.name])
    no_key = out[PREDICTION_ID].isna() & out[CALLER_ID].isna()
    reasons[no_key] = (reasons[no_key] + "; ").str.lstrip("; ") + f"no {PREDICTION_ID} and no {CALLER_ID}"
    bad = reasons != ""
    found, by_pid = _found(log, labels[~bad])
    latest = ~found.isna() & ~found.duplicated(keep="last")
    out[STATUS] = QUARANTINED
    out.loc[~bad, STATUS] = UNMATCHED
    out.loc[found.index[found.notna()], STATUS] = SUPERSEDED
    out.loc[found.index[latest], STATUS] = MATCHED
    out[REASON] = reasons.where(bad, "")
    out.loc[out[STATUS] == UNMATCHED, REASON] = "no logged prediction has this prediction_id or caller id"
    out.loc[out[STATUS] == SUPERSEDED, REASON] = "a later label in the file names the same prediction"
    out.loc[~bad, PREDICTION_ID] = out.loc[~bad, PREDICTION_ID].fillna(found)
    served = by_pid.set_index("_pid").reindex(columns=list(SERVED_COLUMNS))
    for column in SERVED_COLUMNS:
        out[column] = out[PREDICTION_ID].map(served[column]).where(out[STATUS] == MATCHED)
    out[SERVED_AT] = pd.to_datetime(out[SERVED_AT], utc=True)
    for column in (PREDICTION, LOW, HIGH, SHADOW_PREDICTION):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    out[MODEL_VERSION] = out[MODEL_VERSION].astype(object)
    return out.reset_index(drop=True)


def status_counts(measured: pd.DataFrame) -> dict[str, int]:
    """Rows per fate, every fate named (0 included)."""
    counts = measured[STATUS].value_counts() if len(measured) else pd.Series(dtype=int)
    return {status: int(counts.get(status, 0)) for status in (MATCHED, UNMATCHED, SUPERSEDED, QUARANTINED)}


def served_performance(joined: pd.DataFrame) -> pd.DataFrame:
    """Per model version and UTC day served: rows, RMSE, MAE, bias (actual - predicted) and 90 % coverage.
    `joined`: matched labels (`join_labels(...).joined`, or the matched rows of `measure_labels`)."""
    if joined.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    days = pd.to_datetime(joined[SERVED_AT], utc=True).dt.strftime("%Y-%m-%d")
    rows = []
    for (version, day), group in joined.assign(**{DAY: days}).groupby([MODEL_VERSION, DAY], sort=True):
        half_width = float(np.median((group[HIGH] - group[LOW]) / 2))
        perf = live_performance(group[TARGET.name].to_numpy(), group[PREDICTION].to_numpy(), half_width)
        rows.append({MODEL_VERSION: version, DAY: day, **perf.as_dict()})
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def performance_by_version(joined: pd.DataFrame) -> pd.DataFrame:
    """Served performance per model version over every day: what `bodyfat health` and model_health show."""
    return served_performance(joined.assign(**{SERVED_AT: pd.Timestamp(0, tz="UTC")})).drop(columns=DAY) \
        if not joined.empty else pd.DataFrame(columns=[c for c in PERFORMANCE_COLUMNS if c != DAY])


def latest_labels(measured: pd.DataFrame) -> pd.DataFrame:
    """Matched labels of several labels files, concatenated in landing order: one row per prediction, the latest
    file's label winning (a correction sent later)."""
    if measured.empty:  # no labels file measured yet: not even the columns
        return pd.DataFrame(columns=[PREDICTION_ID, TARGET.name, *SERVED_COLUMNS])
    matched = measured[measured[STATUS] == MATCHED]
    return matched.drop_duplicates(PREDICTION_ID, keep="last").reset_index(drop=True)


@dataclass(frozen=True)
class ShadowEvidence:
    """The served model and its shadow on the same served rows: rows with a label and a shadow prediction."""

    table: pd.DataFrame
    """Per (served version, shadow version): rows, and each model's RMSE, MAE and bias on them."""
    rows: int
    """Labeled served rows with a shadow prediction, all pairs together."""
    min_rows: int

    @property
    def enough(self) -> bool:
        return bool(len(self.table)) and int(self.table["rows"].max()) >= self.min_rows

    def summary(self) -> str:
        if self.rows == 0:
            return "no labeled served row has a shadow prediction"
        if not self.enough:
            return f"{self.rows} labeled served rows with a shadow prediction, fewer than {self.min_rows} per pair"
        best = self.table.sort_values("rows", ascending=False).iloc[0]
        return (f"on {int(best['rows'])} labeled served rows: v{best[MODEL_VERSION]} (served) RMSE "
                f"{best['served_rmse']:.3f}, v{best[SHADOW_VERSION]} (shadow) RMSE {best['shadow_rmse']:.3f}")


def shadow_evidence(joined: pd.DataFrame, min_rows: int) -> ShadowEvidence:
    """Both models' error on the labeled served rows that carry a shadow prediction; a log without the shadow
    columns is no evidence (empty table)."""
    columns = [MODEL_VERSION, SHADOW_VERSION, "rows", "served_rmse", "shadow_rmse", "served_mae", "shadow_mae",
               "served_bias", "shadow_bias"]
    if joined.empty or SHADOW_VERSION not in joined.columns or SHADOW_PREDICTION not in joined.columns:
        return ShadowEvidence(pd.DataFrame(columns=columns), 0, min_rows)
    shadow = pd.to_numeric(joined[SHADOW_PREDICTION], errors="coerce")
    both = joined[shadow.notna() & _key(joined, SHADOW_VERSION).notna()]
    rows = []
    for (served, shadowed), group in both.groupby([MODEL_VERSION, SHADOW_VERSION], sort=True):
        actual = group[TARGET.name].to_numpy()
        mine = live_performance(actual, group[PREDICTION].to_numpy(), 0.0)
        theirs = live_performance(actual, pd.to_numeric(group[SHADOW_PREDICTION]).to_numpy(), 0.0)
        rows.append({MODEL_VERSION: str(served), SHADOW_VERSION: str(shadowed), "rows": mine.rows,
                     "served_rmse": mine.rmse, "shadow_rmse": theirs.rmse, "served_mae": mine.mae,
                     "shadow_mae": theirs.mae, "served_bias": mine.bias, "shadow_bias": theirs.bias})
    return ShadowEvidence(pd.DataFrame(rows, columns=columns), len(both), min_rows)


def traffic_summary(log: pd.DataFrame) -> pd.DataFrame:
    """What the API served, per model version: predictions, distinct endpoints, mean prediction, first and last."""
    columns = [MODEL_VERSION, "predictions", "endpoints", "mean_prediction", "first_served", "last_served"]
    if log.empty:
        return pd.DataFrame(columns=columns)
    served_at = pd.to_datetime(log[SERVED_AT], utc=True)
    grouped = log.assign(**{SERVED_AT: served_at}).groupby(log[MODEL_VERSION].astype(str), sort=True)
    return pd.DataFrame({
        "predictions": grouped.size(), "endpoints": grouped["endpoint"].agg(lambda e: ",".join(sorted(set(e)))),
        "mean_prediction": grouped[PREDICTION].mean(),
        "first_served": grouped[SERVED_AT].min().dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_served": grouped[SERVED_AT].max().dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).rename_axis(MODEL_VERSION).reset_index()[columns]
