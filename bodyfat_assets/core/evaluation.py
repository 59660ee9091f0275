"""Test-split metrics, the CV+ 90 % interval and its coverage by BMI group (the figures are in `figures.py`)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import Pipeline

from bodyfat_assets.core.splits import grouped_folds


@dataclass(frozen=True)
class Metrics:
    rmse: float
    mae: float
    r2: float

    def as_dict(self, prefix: str = "test_") -> dict[str, float]:
        return {f"{prefix}{k}": v for k, v in asdict(self).items()}


def regression_metrics(y_true: pd.Series | np.ndarray, y_pred: np.ndarray) -> Metrics:
    return Metrics(
        rmse=float(root_mean_squared_error(y_true, y_pred)),
        mae=float(mean_absolute_error(y_true, y_pred)),
        r2=float(r2_score(y_true, y_pred)),
    )


def conformal_half_width(residuals: np.ndarray, coverage: float = 0.9) -> float:
    """Split-conformal quantile: the ceil((n+1)·coverage)-th smallest absolute residual."""
    scores = np.sort(np.abs(np.asarray(residuals, dtype=float)))
    n = len(scores)
    rank = math.ceil((n + 1) * coverage)
    if n == 0 or rank > n:
        raise ValueError(f"{n} residuals are too few for a {coverage:.0%} conformal interval")
    return float(scores[rank - 1])


def cross_validated_residuals(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, folds: int = 5,
                              seed: int = 42, groups: np.ndarray | None = None) -> np.ndarray:
    """Residuals of out-of-fold predictions: each row is predicted by a model that never saw it nor any row of its
    group (`core/splits.grouped_folds`)."""
    predicted = cross_val_predict(clone(pipeline), X, y, cv=grouped_folds(X, folds, seed, groups))
    return np.asarray(y) - predicted


def cv_plus_half_width(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, folds: int = 5, seed: int = 42,
                       coverage: float = 0.9, groups: np.ndarray | None = None) -> float:
    """The average half-width of the CV+ interval (Barber, Candès, Ramdas & Tibshirani 2021) over the training rows.

    CV+ fits one model per fold; at a point x its interval runs from the ⌊α(n+1)⌋-th smallest of
    μ₋ₖ₍ᵢ₎(x) − |Rᵢ| to the ⌈(1−α)(n+1)⌉-th smallest of μ₋ₖ₍ᵢ₎(x) + |Rᵢ| over training rows i, where μ₋ₖ₍ᵢ₎ is the
    model that did not see row i and Rᵢ its residual there: unlike a quantile of residuals alone, it also carries
    how much the fitted model moves between folds, and it has a finite-sample guarantee (≥ 1 − 2α, about 1 − α in
    practice). The API serves `prediction ± constant`, so this returns the mean of (upper − lower) / 2 at the
    training rows; bench/model_quality.py measures what that constant covers under nested repeated CV.

    The folds are grouped (`groups`, `core/splits.cv_groups`): a residual measured next to a copy of its own row in
    the fit is a memory, not an error (ungrouped, one feed of 50 copies narrowed the interval from ±7.05 to ±6.57).
    """
    n = len(y)
    # Rounded before ceil/floor: 1 - 0.9 is 0.0999…98 in floating point, and floor(20 · that) would be 1, not 2.
    upper_rank = math.ceil(round(coverage * (n + 1), 9))
    lower_rank = math.floor(round((1 - coverage) * (n + 1), 9))
    if n == 0 or upper_rank > n or lower_rank < 1:
        raise ValueError(f"{n} rows are too few for a {coverage:.0%} CV+ interval")
    fold_of = np.empty(n, dtype=int)
    fold_predictions = []  # per fold: its model's predictions at every training row
    residuals = np.empty(n)
    for k, (fit_idx, held_idx) in enumerate(grouped_folds(X, folds, seed, groups)):
        model = clone(pipeline).fit(X.iloc[fit_idx], y.iloc[fit_idx])
        predicted = np.asarray(model.predict(X), dtype=float)
        fold_of[held_idx] = k
        residuals[held_idx] = np.abs(np.asarray(y)[held_idx] - predicted[held_idx])
        fold_predictions.append(predicted)
    # at[i, j]: the prediction at training row j of the model that did not see row i
    at = np.asarray(fold_predictions)[fold_of]
    upper = np.sort(at + residuals[:, None], axis=0)[upper_rank - 1]
    lower = np.sort(at - residuals[:, None], axis=0)[lower_rank - 1]
    return float(np.mean((upper - lower) / 2))


def interval_coverage(y_true: pd.Series | np.ndarray, y_pred: np.ndarray, half_width: float) -> float:
    return float(np.mean(np.abs(np.asarray(y_true) - y_pred) <= half_width))


def body_mass_index(weight_lb: pd.Series | np.ndarray, height_in: pd.Series | np.ndarray) -> np.ndarray:
    """BMI in kg/m² from the dataset's units: 703 · Weight (lb) / Height (in)²."""
    return 703.0 * np.asarray(weight_lb, dtype=float) / np.asarray(height_in, dtype=float) ** 2


BMI_GROUPS: tuple[tuple[str, float, float], ...] = (("<25", 0.0, 25.0), ("25-30", 25.0, 30.0), (">=30", 30.0, np.inf))
"""(label, lower bound included, upper bound excluded): normal weight, overweight, obese."""
BMI_COLUMNS: tuple[str, str] = ("Weight", "Height")
"""The columns BMI is computed from, in pounds and inches, by the names the body-fat contract gives them."""


def bmi_groups(weight_lb: pd.Series | np.ndarray, height_in: pd.Series | np.ndarray) -> np.ndarray:
    """The BMI_GROUPS label of each row."""
    bmi = body_mass_index(weight_lb, height_in)
    labels = np.full(len(bmi), "", dtype=object)
    for label, low, high in BMI_GROUPS:
        labels[(bmi >= low) & (bmi < high)] = label
    return labels


def bmi_groups_of(rows: pd.DataFrame) -> np.ndarray | None:
    """`bmi_groups` of `rows`, or None when they have no BMI_COLUMNS (a contract that does not declare them)."""
    if not set(BMI_COLUMNS) <= set(rows.columns):
        return None
    weight, height = BMI_COLUMNS
    return bmi_groups(rows[weight], rows[height])


def coverage_by_group(y_true: pd.Series | np.ndarray, y_pred: np.ndarray, half_width: float,
                      groups: np.ndarray | None) -> pd.DataFrame:
    """Rows `group`, `rows`, `covered`, `coverage`: one per BMI group (in BMI_GROUPS order), then `all`; only `all`
    when `groups` is None (rows without BMI, `bmi_groups_of`)."""
    inside = np.abs(np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)) <= half_width
    labels = () if groups is None else BMI_GROUPS
    groups = np.asarray(groups)
    rows = [{"group": label, "rows": int(np.sum(groups == label)), "covered": int(np.sum(inside[groups == label]))}
            for label, _, _ in labels]
    rows.append({"group": "all", "rows": len(inside), "covered": int(np.sum(inside))})
    table = pd.DataFrame(rows)
    table["coverage"] = table["covered"] / table["rows"].where(table["rows"] > 0)
    return table


def coverage_metrics(table: pd.DataFrame, prefix: str = "test_interval_coverage_90") -> dict[str, float]:
    """`coverage_by_group`'s table as metric names MLflow accepts (`<prefix>_bmi_lt25`, …), empty groups left out."""
    names = {"<": "lt", ">=": "ge", "-": "_"}
    metrics = {}
    for group, coverage in zip(table["group"], table["coverage"], strict=True):
        if group != "all" and not np.isnan(coverage):
            slug = group
            for symbol, word in names.items():
                slug = slug.replace(symbol, word)
            metrics[f"{prefix}_bmi_{slug}"] = float(coverage)
    return metrics


def ridge_baseline_rmse(train: pd.DataFrame, test: pd.DataFrame, features: list[str], target: str) -> float:
    """The bar every tuned model must clear: a default ridge on the same split and features."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler

    baseline = Pipeline([("scale", StandardScaler()), ("model", Ridge(alpha=1.0))]).fit(train[features], train[target])
    return float(root_mean_squared_error(test[target], baseline.predict(test[features])))
