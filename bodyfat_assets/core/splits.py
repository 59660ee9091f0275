"""Seeded train/test split, stratified on target quantile bins so both sides span the body-fat range."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bodyfat_contract import TARGET
from sklearn.model_selection import train_test_split

from bodyfat_assets.core.cleaning import SOURCE, clean
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.landing.rows import raw_rows, stable_test_mask
from bodyfat_assets.core.landing.validation import SYNTHETIC
from bodyfat_assets.core.near_duplicates import near_duplicate_pairs

SPLIT_COLUMN = "split"


def quantile_bins(target: pd.Series, n_bins: int) -> np.ndarray:
    return pd.qcut(target.rank(method="first"), q=n_bins, labels=False).to_numpy()


def stratified_split(df: pd.DataFrame, test_fraction: float = 0.2, seed: int = 42, n_bins: int = 10) -> pd.DataFrame:
    """Return `df` with a `split` column, 'train' or 'test'."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(np.ceil(len(df) * test_fraction))
    # Each bin needs a member on both sides, so there can be no more bins than the smaller side has rows.
    n_bins = max(1, min(n_bins, n_test, len(df) - n_test))
    stratify = quantile_bins(df[TARGET.name], n_bins) if n_bins > 1 else None
    _, test_idx = train_test_split(
        df.index, test_size=n_test, random_state=seed, stratify=stratify, shuffle=True
    )
    out = df.copy()
    out[SPLIT_COLUMN] = "train"
    out.loc[test_idx, SPLIT_COLUMN] = "test"
    return out


def train_test_frames(splits: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return splits[splits[SPLIT_COLUMN] == "train"], splits[splits[SPLIT_COLUMN] == "test"]


def split_rows(cleaned: pd.DataFrame, test_fraction: float, seed: int) -> pd.DataFrame:
    """Seed rows: the seeded, target-stratified split, computed on the seed rows alone, so its test rows (the
    trusted holdout) stay in test whatever lands. Rows of landed files are split among themselves by a stable
    per-row hash, so every row keeps its side as data grows and the gate compares models on rows neither saw.
    Synthetic rows (`make feed`: jittered copies of seed training rows) train only: in test they would be
    near-duplicates of the rows they were copied from. A landed row within the feed's jitter of a seed row takes
    that row's side."""
    is_seed = cleaned[SOURCE] == SEED_PARTITION
    landed = cleaned[~is_seed].copy()
    synthetic = landed.get(SYNTHETIC, pd.Series(False, index=landed.index)).fillna(False).astype(bool)
    test = stable_test_mask(landed, test_fraction, seed) & ~synthetic
    parts = [stratified_split(cleaned[is_seed], test_fraction, seed)] if is_seed.any() else []
    if parts and not landed.empty:
        # A landed copy of a seed row takes that row's side: a copy of a trusted-holdout row in training would leak
        # the holdout (issue 15.8), a copy of a training row in test would score a model on what it trained on, and
        # either way splits_no_near_duplicates would block every retrain until the file was removed (a test that
        # landed the first 20 seed rows did exactly that).
        seed_train, holdout = train_test_frames(parts[0])
        copies_train = landed.index.isin(near_duplicate_pairs(landed, seed_train)["test_index"].unique())
        copies_holdout = landed.index.isin(near_duplicate_pairs(holdout, landed)["train_index"].unique())
        test = (test & ~copies_train) | copies_holdout
    landed[SPLIT_COLUMN] = test.map({True: "test", False: "train"})
    return pd.concat([*parts, landed]).loc[cleaned.index]


def trusted_holdout(splits: pd.DataFrame) -> pd.DataFrame:
    """The seed's test rows: measured people no landed file can replace or outvote. No challenger may do worse
    on them than the champion by more than the promotion margin, whatever the growing test split says. Without
    them no challenger can be checked, so an empty holdout is an error, not a pass."""
    holdout = splits[(splits[SPLIT_COLUMN] == "test") & (splits[SOURCE] == SEED_PARTITION)]
    if holdout.empty:
        raise ValueError(f"the trusted holdout is empty: no test rows from the {SEED_PARTITION!r} partition in the "
                         f"splits, so no challenger can be checked against it; ingest the seed first")
    return holdout


def seed_splits(seed_dataset: pd.DataFrame, test_fraction: float, seed: int) -> pd.DataFrame:
    """The seed dataset's cleaned rows split as `bodyfat_splits` splits them (for the feed, which copies only the
    seed's training rows)."""
    return split_rows(clean(raw_rows(seed_dataset, SEED_PARTITION)).cleaned, test_fraction, seed)
