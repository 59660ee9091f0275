"""Range checks derived from the feature contract (`bodyfat_contract`: each column's unit and [low, high]), written
once and vectorized. Landing validation, cleaning, scoring, the health assessment and the data asset checks all call
these, so a range changed in the contract changes every check at once.

`violations` says where (one boolean column per checked column); `out_of_range` says why, per row.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURES_BY_NAME


def contract_columns(frame: pd.DataFrame) -> list[str]:
    """The contract's columns (features, target, Density) present in `frame`, in contract order."""
    return [name for name in FEATURES_BY_NAME if name in frame.columns]


def _numeric(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[name], errors="coerce").astype(float)


def violations(frame: pd.DataFrame, columns: Iterable[str] | None = None, *, missing: bool = True) -> pd.DataFrame:
    """Per row and checked column: True where the value lies outside the column's contract range or, with
    `missing`, is missing or not a number (a column absent from `frame` is missing in every row).

    `columns` defaults to every contract column present in `frame`; `missing=False` leaves missing values to a
    rule of their own (cleaning's `missing`).
    """
    checked = list(columns) if columns is not None else contract_columns(frame)
    flags = {}
    for name in checked:
        spec, values = FEATURES_BY_NAME[name], _numeric(frame, name)
        outside = (values < spec.low) | (values > spec.high)
        flags[name] = (outside | values.isna()) if missing else outside
    return pd.DataFrame(flags, index=frame.index, columns=checked, dtype=bool)


def out_of_range(frame: pd.DataFrame, columns: Iterable[str] | None = None, *, missing: bool = True) -> pd.Series:
    """Per row: why its values break the contract, e.g. `Height 29.5 in outside [48, 96]; Weight missing or
    non-numeric`, or '' when they do not. Arguments as for `violations`."""
    flags = violations(frame, columns, missing=missing)
    reasons = pd.Series("", index=frame.index, dtype=object)
    for name in flags.columns[flags.any().to_numpy()]:
        spec, bad = FEATURES_BY_NAME[name], flags[name]
        # Only the flagged rows are formatted: on a clean million-row file this loop does no string work at all.
        text = _numeric(frame, name)[bad].map(
            lambda v, name=name, spec=spec: f"{name} missing or non-numeric" if np.isnan(v)
            else f"{name} {v:g} {spec.unit} outside [{spec.low:g}, {spec.high:g}]")
        before = reasons[bad]
        reasons[bad] = before + np.where(before == "", "", "; ") + text
    return reasons
