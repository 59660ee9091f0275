"""`bodyfat feed`: drop synthetic batches into the landing zone, to watch the loop run without real new data.

Labeled batches are rows of the seed's training split, resampled with replacement and jittered; scoring batches are
the same without the target. Never the seed's test rows: a jittered copy of a test row in training let a memorising
k-NN reach test RMSE 2.18 against an honest 4.26, and `splits_no_near_duplicates` now blocks that.
Every labeled copy names its seed row in `origin`, so cross-validation keeps it in that row's fold. Everything is
marked synthetic twice: the file name starts with `synthetic-` and every row has `synthetic=true`, so no one mistakes
them for measurements, cleaned_bodyfat can count them and bodyfat_splits keeps them in training.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME, TARGET

from bodyfat_assets.core.landing.naming import SCORE, TRAIN
from bodyfat_assets.core.landing.rows import row_keys
from bodyfat_assets.core.landing.validation import ID, ORIGIN, SYNTHETIC
from bodyfat_assets.core.near_duplicates import BODYFAT_JITTER, RELATIVE_JITTER, near_duplicate_pairs
from bodyfat_assets.core.splits import seed_splits, train_test_frames
from bodyfat_assets.lake import frame_to_parquet, landing_store
from bodyfat_assets.settings import BODYFAT_CSV, Settings


def seed_training_rows(test_fraction: float, split_seed: int) -> pd.DataFrame:
    return seed_train_and_test_rows(test_fraction, split_seed)[0]


def seed_train_and_test_rows(test_fraction: float, split_seed: int,
                             seed_dataset: Path = BODYFAT_CSV) -> tuple[pd.DataFrame, pd.DataFrame]:
    return train_test_frames(seed_splits(pd.read_csv(seed_dataset), test_fraction, split_seed))


def away_from(rows: pd.DataFrame, test: pd.DataFrame, rng: np.random.Generator, base: pd.DataFrame,
              max_rounds: int = 20) -> pd.DataFrame:
    """`rows` with every row that is a near-duplicate of a `test` row drawn again: a jittered training row can land
    within the tolerance of a real test neighbour by chance, and `splits_no_near_duplicates` would then block the
    retrain that `make feed` was meant to show."""
    for _ in range(max_rounds):
        clashing = near_duplicate_pairs(test, rows)["train_index"].unique()
        if len(clashing) == 0:
            return rows
        redrawn = synthetic_rows(len(clashing), rng, labeled=True, base=base)
        rows.loc[clashing, redrawn.columns] = redrawn.to_numpy()
    raise RuntimeError(f"could not draw {len(rows)} synthetic rows away from the seed's test rows")


def synthetic_rows(n: int, rng: np.random.Generator, labeled: bool, base: pd.DataFrame) -> pd.DataFrame:
    """`n` jittered copies of rows of `base` (the seed's training rows); Density is dropped, so the Siri rule
    does not apply to them. A labeled copy names the row it was drawn from (`origin` = `seed:<row_id>`), so
    cross-validation keeps it in its seed row's fold."""
    sample = base.sample(n=n, replace=True, random_state=rng.integers(2**31)).reset_index(drop=True)
    out = pd.DataFrame()
    for name in FEATURE_NAMES:
        spec = FEATURES_BY_NAME[name]
        jittered = sample[name] * (1 + rng.normal(0, RELATIVE_JITTER, n))
        out[name] = jittered.clip(spec.low, spec.high).round(0 if name == "Age" else 2)
    if labeled:
        noisy = sample[TARGET.name] + rng.normal(0, BODYFAT_JITTER, n)
        out.insert(0, TARGET.name, noisy.clip(TARGET.low + 1, TARGET.high - 1).round(1))
    out[SYNTHETIC] = True
    if labeled:  # a scoring file's contract has no origin: nothing is trained on it
        out[ORIGIN] = row_keys(sample).to_numpy()
    return out


def _encode(frame: pd.DataFrame, fmt: str) -> bytes:
    return frame_to_parquet(frame) if fmt == "parquet" else frame.to_csv(index=False).encode()


def feed(settings: Settings, labeled: int, scoring: int, rows: int = 25, fmt: str = "csv",
         seed: int | None = None) -> list[str]:
    """Write `labeled` files to landing/train/ and `scoring` files to landing/score/; return their URLs."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    rng = np.random.default_rng(seed)
    base, holdout = seed_train_and_test_rows(settings.data.test_fraction, settings.data.split_seed,
                                             settings.data.seed_dataset)
    store = landing_store(settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    written = []
    for kind, count in ((TRAIN, labeled), (SCORE, scoring)):
        for i in range(1, count + 1):
            name = f"synthetic-{stamp}-{kind}-{i:03d}.{fmt}"
            frame = synthetic_rows(rows, rng, labeled=kind == TRAIN, base=base)
            if kind == TRAIN:
                frame = away_from(frame, holdout, rng, base)
            if kind == SCORE:
                frame.insert(0, ID, [f"{name.rsplit('.', 1)[0]}-{r}" for r in range(1, rows + 1)])
            store.write_bytes(f"{kind}/{name}", _encode(frame, fmt))
            written.append(f"{store.url}/{kind}/{name}")
    return written
