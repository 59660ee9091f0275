"""Derived features as a stateless first pipeline step, built from scikit-learn and numpy parts only.

Serving loads models with skops, which trusts types by name: a ColumnTransformer of FunctionTransformers over numpy
functions (`numpy.log`, `numpy.diff`) loads with no project code installed, where a custom transformer class would
need `bodyfat_assets` importable (and trusted) in the API.

Columns are picked by position in the model's feature list, not by name, so the API's fast path can pass numpy rows.

- `log_features`: log of every predictor (all are positive by the contract's ranges) plus the US-Navy term
  log(Abdomen − Neck). Logs beat raw predictors for every linear family here, about half of it at the heavy
  extreme (the 363-lb subject: over-predicted by 16 points on raw predictors, by about 8 on logs).
- `navy_term_positions`: where the two terms of the US-Navy circumference equation for men, log10(Abdomen − Neck)
  and log10(Height), sit among the log features (natural logs: the same model after a refit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

NAVY_WAIST, NAVY_NECK, NAVY_HEIGHT = "Abdomen", "Neck", "Height"


def _log() -> FunctionTransformer:
    return FunctionTransformer(np.log, feature_names_out="one-to-one")


WAIST_MINUS_NECK_FLOOR_CM = 1.0
"""The contract's ranges alone allow Abdomen ≤ Neck (50 and 65 cm), where the log is undefined; no real row comes
close (the seed data's smallest Abdomen − Neck is about 30 cm). The floor keeps every in-contract request finite."""


def _log_waist_minus_neck() -> Pipeline:
    # Given the columns [Neck, Abdomen], np.diff along the last axis is Abdomen − Neck, one column.
    return Pipeline([
        ("waist_minus_neck", FunctionTransformer(np.diff)),
        ("floor", FunctionTransformer(np.clip, kw_args={"a_min": WAIST_MINUS_NECK_FLOOR_CM, "a_max": None})),
        ("log", FunctionTransformer(np.log)),
    ])  # fmt: skip


def _positions(features: Sequence[str], *names: str) -> list[int]:
    missing = [n for n in names if n not in features]
    if missing:
        raise ValueError(f"these features need {missing}, which are not among the model's features {list(features)}")
    return [list(features).index(n) for n in names]


def log_features(features: Sequence[str]) -> ColumnTransformer:
    """log of each column of `features`, then log(Abdomen − Neck) as the last column."""
    return ColumnTransformer([
        ("log", _log(), list(range(len(features)))),
        ("navy", _log_waist_minus_neck(), _positions(features, NAVY_NECK, NAVY_WAIST)),
    ])  # fmt: skip


def log_feature_names(features: Sequence[str]) -> list[str]:
    """Column names of `log_features(features)`'s output, in order."""
    return [*(f"log_{f}" for f in features), f"log_{NAVY_WAIST}_minus_{NAVY_NECK}"]


def navy_term_positions(features: Sequence[str]) -> list[int]:
    """Where log(Abdomen − Neck) and log Height, the regressors of the US-Navy equation, sit in
    `log_features(features)`'s output."""
    names = log_feature_names(features)
    return [names.index(f"log_{NAVY_WAIST}_minus_{NAVY_NECK}"), names.index(f"log_{NAVY_HEIGHT}")]
