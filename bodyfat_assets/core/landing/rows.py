"""A validated landed file as rows: raw_bodyfat rows for labeled files, rows to score for scoring files."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, RAW_COLUMNS, ROW_ID

from bodyfat_assets.core.cleaning import SOURCE  # (source, row_id) identifies a row everywhere
from bodyfat_assets.core.landing.validation import ID, ORIGIN, SYNTHETIC


def raw_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A validated labeled file (or the seed CSV) as raw_bodyfat rows: source, row_id (1-based within the file),
    the contract's RAW_COLUMNS (Density when it declares one, the target, the predictors), synthetic, origin (null
    when the file names none)."""
    out = pd.DataFrame({SOURCE: source, ROW_ID: np.arange(1, len(frame) + 1)})
    for column in RAW_COLUMNS:
        values = frame[column] if column in frame.columns else np.nan
        out[column] = pd.to_numeric(pd.Series(values, index=frame.index), errors="coerce").to_numpy(dtype=float)
    out[SYNTHETIC] = frame[SYNTHETIC].to_numpy(dtype=bool) if SYNTHETIC in frame.columns else False
    out[ORIGIN] = frame[ORIGIN].to_numpy(dtype=object) if ORIGIN in frame.columns else None
    return out


def row_keys(rows: pd.DataFrame) -> pd.Series:
    """`source:row_id` per row: how an `origin` names the row it was copied from (e.g. `seed:17`); `row_id` alone
    for rows of one unnamed file (no `source` column)."""
    row_id = rows[ROW_ID].astype(str)
    return rows[SOURCE].astype(str) + ":" + row_id if SOURCE in rows.columns else row_id


def stable_uniform(rows: pd.DataFrame, seed: int) -> np.ndarray:
    """A number in [0, 1) per row from a hash of (seed, source, row_id): the same for a row however many files
    have landed."""
    keys = (f"{seed}:{source}:{row}" for source, row in zip(rows[SOURCE], rows[ROW_ID], strict=True))
    return np.asarray([int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / 16**12 for key in keys], dtype=float)


def stable_test_mask(rows: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Test membership for rows of landed files, from `stable_uniform`: a row keeps its side as files keep
    arriving, so a champion trained earlier is never scored on rows it was trained on. (The seed partition keeps
    its stratified split: its rows never change, so neither does that split.)"""
    return pd.Series(stable_uniform(rows, seed) < test_fraction, index=rows.index, dtype=bool)


def scoring_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A validated scoring file as rows to score: source, row_id, id (the sender's, or empty), predictors."""
    out = pd.DataFrame({SOURCE: source, ROW_ID: np.arange(1, len(frame) + 1)})
    out[ID] = frame[ID].astype(str).to_numpy() if ID in frame.columns else ""
    for column in FEATURE_NAMES:
        out[column] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return out
