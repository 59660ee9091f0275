"""What `make feed`'s rows do to a memorising model's test score, before and after feeding from the
training side only.

    python bench/feed_leak.py [--rows 500] [--repeats 5]

A 1-nearest-neighbour regressor (standardised features) is fitted on the seed's training rows plus `--rows` feed
rows and scored on the seed's test rows (the trusted holdout). "every seed row" is the old feed (jittered copies of
all cleaned seed rows, test rows included); "training rows only" is the feed now. Also printed: how many test rows
`splits_no_near_duplicates` would flag in each case.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, TARGET
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bodyfat_assets.core.near_duplicates import near_duplicate_pairs
from bodyfat_assets.core.splits import seed_splits, train_test_frames
from bodyfat_assets.feed import synthetic_rows
from bodyfat_assets.settings import BODYFAT_CSV


def knn_test_rmse(train: pd.DataFrame, test: pd.DataFrame) -> float:
    model = make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=1))
    model.fit(train[list(FEATURE_NAMES)], train[TARGET.name])
    return float(np.sqrt(np.mean((model.predict(test[list(FEATURE_NAMES)]) - test[TARGET.name]) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    train, test = train_test_frames(seed_splits(pd.read_csv(BODYFAT_CSV), 0.2, 42))
    print(f"1-NN on the seed's {len(train)} training rows alone: test RMSE {knn_test_rmse(train, test):.2f} "
          f"({len(test)} test rows)")
    for label, base in (("every seed row (old feed)", pd.concat([train, test])), ("training rows only", train)):
        rmses, flagged = [], []
        for repeat in range(args.repeats):
            fed = synthetic_rows(args.rows, np.random.default_rng(repeat), labeled=True, base=base)
            grown = pd.concat([train, fed], ignore_index=True)
            rmses.append(knn_test_rmse(grown, test))
            flagged.append(near_duplicate_pairs(test, grown)["test_index"].nunique())
        print(f"+ {args.rows} feed rows from {label}: test RMSE {np.mean(rmses):.2f} (min {min(rmses):.2f}, "
              f"max {max(rmses):.2f}); test rows with a near-duplicate in training: {np.mean(flagged):.1f} "
              f"of {len(test)} (min {min(flagged)}) over {args.repeats} feeds")


if __name__ == "__main__":
    main()
