"""The serving API's prediction log, read back from the lake: the Parquet objects `serving/prediction_log.py`
writes under `prediction_log/date=YYYY-MM-DD/hour=HH/`, through the lake's storage interface (a folder or S3)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from bodyfat_contract import CALLER_ID, FEATURE_NAMES
from bodyfat_contract.prediction_log import COLUMNS, MODEL_VERSION, PREDICTION_ID, PREFIX, SERVED_AT

from bodyfat_assets.lake import ObjectStore, parquet_to_frame


def day_prefix(day: str) -> str:
    """The log's folder of one UTC day (`YYYY-MM-DD`)."""
    return f"{PREFIX}/date={day}/"


def read_served_log(store: ObjectStore, days: Iterable[str] | None = None) -> pd.DataFrame:
    """Every logged prediction of `days` (None: of every day), in object order; an empty frame with the log's
    columns when nothing was logged. Keys and versions are text, as the API wrote them."""
    prefixes = [f"{PREFIX}/"] if days is None else [day_prefix(day) for day in days]
    keys = [key for prefix in prefixes for key in store.list_keys(prefix) if key.endswith(".parquet")]
    frames = [parquet_to_frame(store.read_bytes(key)) for key in keys]
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype=float if column in FEATURE_NAMES else object)
                             for column in COLUMNS}).astype({SERVED_AT: "datetime64[ns, UTC]"})
    log = pd.concat(frames, ignore_index=True)
    log[SERVED_AT] = pd.to_datetime(log[SERVED_AT], utc=True)
    for column in (PREDICTION_ID, CALLER_ID, MODEL_VERSION):
        log[column] = log[column].astype("string").astype(object).where(log[column].notna(), None)
    return log
