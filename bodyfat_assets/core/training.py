"""Train a challenger: tune over the model families on the training split, then measure it on the test split,
size its 90 % interval by CV+ (grouped folds) and draw the figures. No Dagster, no MLflow: the asset logs
what this returns."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from bodyfat_contract import TARGET, training_population, training_profile

from bodyfat_assets.core import evaluation, figures
from bodyfat_assets.core.splits import cv_groups, train_test_frames
from bodyfat_assets.core.tuning import TrialCallback, TuningConfig, TuningResult, tune


@dataclass(frozen=True)
class TrainedChallenger:
    tuning: TuningResult
    features: list[str]
    metrics: evaluation.Metrics
    """On the test split, which tuning never saw."""
    half_width: float
    """Half-width of the 90 % prediction interval (CV+ on the training split, `evaluation.cv_plus_half_width`)."""
    coverage: float
    """Share of test rows inside the interval."""
    coverage_by_bmi: pd.DataFrame
    """Test-split coverage per BMI group and overall (`evaluation.coverage_by_group`); overall only without BMI."""
    figures: dict[str, bytes]
    """PNG plots by name: predicted vs actual, residuals, study history."""
    training_example: pd.DataFrame
    """A few training rows: the logged model's signature and input example."""
    training_profile: dict[str, list[float]]
    """Quantile edges of each feature and of the target on the training rows (serving's monitoring bins)."""
    training_population: dict[str, object]
    """The training rows' features as one population (bodyfat_contract.training_population): serving warns about
    inputs farther from it than any training row."""

    def fingerprint(self) -> str:
        """Same training rows, search space, seed and chosen configuration → the same model, bit for bit: the
        registry keeps one version per fingerprint (a re-run of `make demo` registered identical v3 and v4)."""
        result = self.tuning
        identity = json.dumps([result.study.study_name, self.features, result.best_family,
                               sorted((k, str(v)) for k, v in result.best_params.items())])
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    def best_by_family(self) -> pd.DataFrame:
        """One row per family: its best cross-validated RMSE over completed trials, best first."""
        return pd.DataFrame(sorted(self.tuning.best_by_family.items(), key=lambda kv: kv[1]),
                            columns=["family", "best_cv_rmse"])


def training_data(splits: pd.DataFrame, features: Sequence[str]) -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """The training rows of `splits` as tuning and the interval see them: X, y and each row's cross-validation
    group (`cv_groups`), so every CV keeps a row and its copies in one fold."""
    train, _ = train_test_frames(splits)
    return train[list(features)], train[TARGET.name], cv_groups(train)


def train_challenger(splits: pd.DataFrame, features: Sequence[str], config: TuningConfig,
                     callbacks: Sequence[TrialCallback] = ()) -> TrainedChallenger:
    features = list(features)
    train, test = train_test_frames(splits)
    X, y, groups = training_data(splits, features)
    result = tune(X, y, config, callbacks=callbacks, groups=groups)
    actual = test[TARGET.name].to_numpy()
    predicted = result.model.predict(test[features])
    half_width = evaluation.cv_plus_half_width(result.model, X, y, config.cv_folds, config.seed, groups=groups)
    bmi_groups = evaluation.bmi_groups_of(test)
    return TrainedChallenger(
        tuning=result,
        features=features,
        metrics=evaluation.regression_metrics(actual, predicted),
        half_width=half_width,
        coverage=evaluation.interval_coverage(actual, predicted, half_width),
        coverage_by_bmi=evaluation.coverage_by_group(actual, predicted, half_width, bmi_groups),
        figures={
            "predicted_vs_actual": figures.predicted_vs_actual_png(actual, predicted, half_width),
            "residuals": figures.residuals_png(actual, predicted),
            "study_history": figures.study_history_png(result.study),
        },
        training_example=X.head(20),
        training_profile=training_profile({c: train[c] for c in [*features, TARGET.name]}),
        training_population=training_population({c: train[c].tolist() for c in features}),
    )
