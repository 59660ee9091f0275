"""Batch scoring: predictions with the model's 90 % interval, for rows whose features are valid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from bodyfat_contract import ROW_ID

from bodyfat_assets.core.contract_checks import out_of_range


def score(model: Any, card: dict[str, Any], rows: pd.DataFrame, model_version: str) -> pd.DataFrame:
    """Predict the rows whose model features are present and within the contract's ranges; every other row keeps
    its row id and gets an `issue` (from `out_of_range`) instead of a guess; a scored row's issue is null."""
    features = list(card["features"])
    half_width = float(card["interval_half_width_90"])
    issues = out_of_range(rows, features)
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
        "issue": issues.where(~valid, None).to_numpy(dtype=object),
    })
