"""Repeated k-fold CV RMSE per model family on the cleaned data without Density, against the ridge anchor.

    python bench/model_quality.py [--trials 50] [--repeats 5]

Tunes once (the same study `tuned_model` runs, on the training split), then scores every family's best
configuration with repeated 10-fold CV on *all* cleaned rows, plus the anchor from data/README.md: a plain ridge on
the raw file, bad rows included.
"""

from __future__ import annotations

import argparse
import time

import optuna
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, TARGET
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import RepeatedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.evaluation import conformal_half_width, cross_validated_residuals, interval_coverage
from bodyfat_assets.core.families import build_pipeline
from bodyfat_assets.core.splits import stratified_split, train_test_frames
from bodyfat_assets.core.tuning import TuningConfig, tune
from bodyfat_assets.settings import SEED_DATASET


def repeated_cv_rmse(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, repeats: int) -> tuple[float, float]:
    scores = -cross_val_score(pipeline, X, y, cv=RepeatedKFold(n_splits=10, n_repeats=repeats, random_state=0),
                              scoring="neg_root_mean_squared_error")
    return float(scores.mean()), float(scores.std())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    raw = pd.read_csv(SEED_DATASET)
    cleaned = clean(raw).cleaned
    features = list(FEATURE_NAMES)
    train, test = train_test_frames(stratified_split(cleaned))

    started = time.monotonic()
    result = tune(train[features], train[TARGET.name], TuningConfig(n_trials=args.trials))
    print(f"tuning: {args.trials} trials in {time.monotonic() - started:.1f} s; best family {result.best_family} "
          f"(CV RMSE on train {result.best_cv_rmse:.3f})")

    rows = []
    anchor = Pipeline([("model", LinearRegression())])
    rows.append(("anchor: linear, raw file (252 rows)", *repeated_cv_rmse(anchor, raw[features], raw[TARGET.name],
                                                                          args.repeats)))
    rows.append(("linear, cleaned", *repeated_cv_rmse(anchor, cleaned[features], cleaned[TARGET.name], args.repeats)))
    for trial_family in sorted(result.best_by_family):
        best = min((t for t in result.study.trials if t.value is not None and t.params["family"] == trial_family),
                   key=lambda t: t.value)
        pipe = build_pipeline(trial_family, best.user_attrs["params"])
        label = f"{trial_family} (tuned){' ← chosen' if trial_family == result.best_family else ''}"
        rows.append((label, *repeated_cv_rmse(pipe, cleaned[features], cleaned[TARGET.name], args.repeats)))

    print(f"\nRepeated 10-fold CV RMSE ({args.repeats} repeats), body fat percentage points, no Density:")
    print(f"{'model':45s} {'RMSE':>7s} {'± sd':>7s}")
    for label, mean, sd in rows:
        print(f"{label:45s} {mean:7.3f} {sd:7.3f}")

    predicted = result.model.predict(test[features])
    half = conformal_half_width(cross_validated_residuals(result.model, train[features], train[TARGET.name]))
    coverage = interval_coverage(test[TARGET.name], predicted, half)
    print(f"\n90% split-conformal interval: ±{half:.2f}; empirical coverage on the test split "
          f"{coverage:.1%} ({len(test)} rows)")


if __name__ == "__main__":
    main()
