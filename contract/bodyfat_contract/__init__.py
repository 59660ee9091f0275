"""The feature contract shared by the pipeline and the serving API (standard library only).

Units follow the dataset (Johnson 1996): Weight in lb, Height in inches, circumferences in cm.
The plausible ranges are physiological bounds for adult men, wide enough to keep real extremes (the 363 lb
subject, row 39) and narrow enough to reject typos (a 29.5 in height, row 42).

Density is kept in raw and cleaned data only to check BodyFat: BodyFat was *computed* from underwater-weighing
Density with Siri's equation, so a model given Density learns an algebraic identity, not a prediction anyone with a
tape measure can use. `model_features(allow_density=True)` exists for experiments, never as the default. A dataset
without such a column sets `DENSITY = None` (docs/adapting.md): `DENSITY_COLUMNS` is then empty, and so is every
rule or check that needs it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CALLER_ID",
    "DENSITY",
    "DENSITY_COLUMNS",
    "FEATURES",
    "FEATURES_BY_NAME",
    "FEATURE_NAMES",
    "RAW_COLUMNS",
    "ROW_ID",
    "TARGET",
    "Feature",
    "model_features",
    "population_distance",
    "training_population",
    "training_profile",
]


@dataclass(frozen=True)
class Feature:
    name: str
    unit: str
    low: float
    high: float
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("Age", "years", 18, 100, "age"),
    Feature("Weight", "lb", 80, 500, "body weight"),
    Feature("Height", "in", 48, 96, "standing height"),
    Feature("Neck", "cm", 25, 65, "neck circumference"),
    Feature("Chest", "cm", 60, 180, "chest circumference"),
    Feature("Abdomen", "cm", 50, 200, "abdomen circumference at the umbilicus"),
    Feature("Hip", "cm", 60, 180, "hip circumference"),
    Feature("Thigh", "cm", 30, 110, "thigh circumference"),
    Feature("Knee", "cm", 25, 60, "knee circumference"),
    # Median 22.8, SD 1.7; the 363-lb subject (row 39) has 29.6. Rows 31 and 86 (33.9 and 33.7 at 182 and 167 lb,
    # six SDs out) are typos, most likely for 23.9 and 23.7: 31 keeps every real ankle and catches them.
    Feature("Ankle", "cm", 15, 31, "ankle circumference"),
    Feature("Biceps", "cm", 18, 60, "extended biceps circumference"),
    Feature("Forearm", "cm", 15, 45, "forearm circumference"),
    Feature("Wrist", "cm", 12, 28, "wrist circumference"),
)

TARGET = Feature("BodyFat", "%", 2, 60, "body fat percentage (Siri)")
DENSITY: Feature | None = Feature("Density", "g/cm3", 0.95, 1.11, "body density from underwater weighing")
ROW_ID = "row_id"
# The caller's own key for a row (a scoring file's column, a prediction request's field): kept, never a feature.
CALLER_ID = "id"

FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
DENSITY_COLUMNS: tuple[str, ...] = (DENSITY.name,) if DENSITY else ()
"""Density's column when the contract declares one: kept to check the target, never a feature by default."""
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in (*FEATURES, TARGET, *([DENSITY] if DENSITY else []))}
RAW_COLUMNS: tuple[str, ...] = (*DENSITY_COLUMNS, TARGET.name, *FEATURE_NAMES)


def model_features(allow_density: bool = False) -> list[str]:
    """Columns a model may use, in the order models are fitted and served with."""
    return [*FEATURE_NAMES, *DENSITY_COLUMNS] if allow_density else list(FEATURE_NAMES)


PROFILE_BINS = 10


def training_profile(columns: Mapping[str, Iterable[float]], bins: int = PROFILE_BINS) -> dict[str, list[float]]:
    """Per column of the training rows: minimum, the inner quantile edges of `bins` equal-count bins, maximum.

    Stored in the model card, so serving bins what it sees (Prometheus histograms) and counts inputs outside the
    training range with the champion's own training data, without reading it."""
    profile = {}
    for name, values in columns.items():
        data = sorted(float(v) for v in values if v == v)  # NaN is not equal to itself
        if len(data) < 2:
            continue
        inner = statistics.quantiles(data, n=bins, method="inclusive")
        profile[name] = [data[0], *sorted(set(inner)), data[-1]]
    return profile


def training_population(columns: Mapping[str, Sequence[float]]) -> dict[str, object]:
    """The training rows as one population: mean and Cholesky factor of the covariance of the log measurements, and
    the largest Mahalanobis distance any training row has from it (`threshold`).

    Each field has its own range, but a person is more than thirteen fields: 40 kg at 200 cm with a 150 cm abdomen
    passes every range and is far from every man measured. Logs, because body measurements scale multiplicatively
    (weight with height cubed). Stored in the model card beside `training_profile`, so serving flags such inputs
    with the champion's own training rows, without reading them. Empty when the covariance is singular."""
    names = list(columns)
    logs = [[math.log(float(v)) for v in columns[name]] for name in names]
    n = len(logs[0]) if logs else 0
    if n <= len(names) or any(len(values) != n for values in logs):
        return {}
    mean = [statistics.fmean(values) for values in logs]
    centred = [[v - m for v in values] for values, m in zip(logs, mean, strict=True)]
    covariance = [[math.fsum(a * b for a, b in zip(x, y, strict=True)) / (n - 1) for y in centred] for x in centred]
    factor = _cholesky(covariance)
    if factor is None:
        return {}
    population: dict[str, object] = {"features": names, "mean": mean, "cholesky": factor}
    rows = zip(*(columns[name] for name in names), strict=True)
    population["threshold"] = max(population_distance(population, dict(zip(names, row, strict=True))) for row in rows)
    return population


def population_distance(population: Mapping[str, object], row: Mapping[str, float]) -> float:
    """Mahalanobis distance of `row` (values in the contract's units) from a `training_population`: solves L z = x - m
    by forward substitution and returns |z|."""
    names: Sequence[str] = population["features"]  # type: ignore[assignment]
    mean: Sequence[float] = population["mean"]  # type: ignore[assignment]
    factor: Sequence[Sequence[float]] = population["cholesky"]  # type: ignore[assignment]
    z: list[float] = []
    for i, name in enumerate(names):
        lower = factor[i]
        z.append((math.log(row[name]) - mean[i] - math.fsum(lower[j] * z[j] for j in range(i))) / lower[i])
    return math.sqrt(math.fsum(v * v for v in z))


def _cholesky(matrix: Sequence[Sequence[float]]) -> list[list[float]] | None:
    """Lower-triangular L with L L^T = matrix, or None when the matrix is not positive definite."""
    size = len(matrix)
    lower = [[0.0] * size for _ in range(size)]
    for i in range(size):
        for j in range(i + 1):
            total = matrix[i][j] - math.fsum(lower[i][k] * lower[j][k] for k in range(j))
            if i == j:
                if total <= 0:
                    return None
                lower[i][i] = math.sqrt(total)
            else:
                lower[i][j] = total / lower[j][j]
    return lower
