"""The drift check's cost and its false-alarm rate.

    python bench/drift.py [--files 20] [--rows 10000]

Reference: the training split of the cleaned seed rows (what the champion was fitted on). Cost: one batch_drift
over the 13 features on `--rows` scoring rows resampled from the seed with measurement jitter. False alarms: `--files`
files of 50 rows resampled from the seed rows *without* any shift; a file alarms when any feature is marked drifted,
and it counts as evidence for a retrain when at least BODYFAT_DRIFT_MIN_FEATURES features drift (defaults of the
configuration model).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.health.drift import batch_drift
from bodyfat_assets.core.splits import stratified_split, train_test_frames
from bodyfat_assets.settings import BODYFAT_CSV, HealthSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--file-rows", type=int, default=50)
    args = parser.parse_args()
    cleaned = clean(pd.read_csv(BODYFAT_CSV)).cleaned
    train, _ = train_test_frames(stratified_split(cleaned))
    reference = train[list(FEATURE_NAMES)]
    rng = np.random.default_rng(0)

    big = cleaned[list(FEATURE_NAMES)].sample(args.rows, replace=True, random_state=1).reset_index(drop=True)
    big = big * rng.normal(1, 0.01, big.shape)
    started = time.perf_counter()
    thresholds = HealthSettings().drift_thresholds()
    batch_drift(reference, big, FEATURE_NAMES, thresholds)
    cost_ms = (time.perf_counter() - started) * 1000

    any_feature, evidence, drifted_total = 0, 0, 0
    for seed in range(args.files):
        sample = cleaned[list(FEATURE_NAMES)].sample(args.file_rows, replace=True, random_state=100 + seed)
        drifted = [d.column for d in batch_drift(reference, sample, FEATURE_NAMES, thresholds) if d.drifted]
        any_feature += bool(drifted)
        evidence += len(drifted) >= thresholds.min_drifted
        drifted_total += len(drifted)
    print(f"| drift check on {args.rows:,} rows × 13 features | {cost_ms:.0f} ms |")
    print(f"| unshifted files ({args.files} × {args.file_rows} rows) with ≥ 1 feature marked drifted | "
          f"{any_feature}/{args.files} ({drifted_total} of {args.files * 13} feature tests) |")
    print(f"| unshifted files counted as retrain evidence (≥ {thresholds.min_drifted} features) | "
          f"{evidence}/{args.files} |")


if __name__ == "__main__":
    main()
