"""Batch scoring: predictions with the model's 90 % interval, for rows whose features are valid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bodyfat_assets.core.schema import FEATURES_BY_NAME, ROW_ID


def feature_issues(df: pd.DataFrame, features: list[str]) -> pd.Series:
    """Per row: why it cannot be scored (missing or out-of-range features), or '' when it can."""
    issues = pd.Series("", index=df.index, dtype=object)
    for name in features:
        spec = FEATURES_BY_NAME[name]
        values = pd.to_numeric(df[name], errors="coerce") if name in df else pd.Series(np.nan, index=df.index)
        bad = values.isna() | ~values.between(spec.low, spec.high)
        issues[bad] += f"{name} missing or outside [{spec.low:g}, {spec.high:g}] {spec.unit}; "
    return issues.str.rstrip("; ")


def score(model: Any, card: dict[str, Any], rows: pd.DataFrame, model_version: str) -> pd.DataFrame:
    features = list(card["features"])
    half_width = float(card["interval_half_width_90"])
    issues = feature_issues(rows, features)
    valid = issues == ""
    prediction = pd.Series(np.nan, index=rows.index)
    if valid.any():
        prediction[valid] = model.predict(rows.loc[valid, features].astype(float))
    return pd.DataFrame({
        ROW_ID: rows[ROW_ID].to_numpy(),
        "prediction": prediction.to_numpy(),
        "lower_90": (prediction - half_width).to_numpy(),
        "upper_90": (prediction + half_width).to_numpy(),
        "model_version": str(model_version),
        "issue": issues.to_numpy(),
    })
