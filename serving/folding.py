"""Fitted scikit-learn models compiled to plain numpy arithmetic (`fold_model`): the served model skips sklearn's
per-call validation, which costs ~20x the arithmetic for one row. The caller (`serving.loading.from_card`) checks the
folded model against scikit-learn before serving it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

LINEAR_REGRESSORS = frozenset({"LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet",
                               "ElasticNetCV", "LassoLars", "Lars", "BayesianRidge", "ARDRegression"})  # fmt: skip


def _diff(x: np.ndarray, **kwargs: Any) -> np.ndarray:
    if kwargs:
        return np.diff(x, **kwargs)
    return x[:, 1:] - x[:, :-1]  # np.diff's default (n=1, last axis) without its ~5 µs of Python overhead


def _clip(x: np.ndarray, a_min: Any = None, a_max: Any = None) -> np.ndarray:
    # np.clip with one bound is np.maximum/np.minimum, at a fifth of the per-call cost for one row
    if a_max is None:
        return x if a_min is None else np.maximum(x, a_min)
    return np.minimum(x, a_max) if a_min is None else np.clip(x, a_min, a_max)


# What a FunctionTransformer may apply in a folded model (the functions core/features.py builds features from),
# with equivalent numpy arithmetic that is cheaper per call.
FOLDABLE_FUNCTIONS: dict[Any, Callable[..., np.ndarray]] = {np.log: np.log, np.diff: _diff, np.clip: _clip}
Array = np.ndarray
Step = Callable[[Array], Array]


class NotFoldable(Exception):
    """A step `fold_model` does not know: the model takes the ordinary scikit-learn path."""


@dataclass(frozen=True)
class Affine:
    """x ↦ x @ weights + intercept. Consecutive affine steps (scalers, column picks, linear models, averages of
    linear members) compose into one, so a log-linear ensemble costs one dot product besides its features."""

    weights: np.ndarray
    """(inputs, outputs), or (inputs,) for a final regressor."""
    intercept: np.ndarray | float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights + self.intercept

    def then(self, after: Affine) -> Affine:
        return Affine(self.weights @ after.weights, self.intercept @ after.weights + after.intercept)


def fold_model(estimator: Any) -> Step | None:
    """The fitted model as numpy arithmetic, or None if it contains a step this does not know.

    Known: Pipeline, StandardScaler, FunctionTransformer of FOLDABLE_FUNCTIONS, ColumnTransformer over column
    positions, linear regressors, RBF SVR, and VotingRegressor over any of these. Exact up to float rounding; the
    caller verifies it against the pipeline before using it.
    """
    try:
        return _fold(estimator)
    except NotFoldable:
        return None


def _fold(step: Any) -> Step:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import VotingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.svm import SVR

    kind = type(step)
    if kind is Pipeline:
        return _fold_chain([s for _, s in step.steps if s is not None and not _is_passthrough(s)])
    if kind is StandardScaler:
        n = step.n_features_in_
        scale = step.scale_ if step.scale_ is not None else np.ones(n)
        mean = step.mean_ if step.mean_ is not None and step.with_mean else np.zeros(n)
        return Affine(np.diag(1.0 / scale), -mean / scale)
    if kind is FunctionTransformer:
        if step.func is None:
            return lambda x: x
        if step.func not in FOLDABLE_FUNCTIONS or step.validate:
            raise NotFoldable(f"function {step.func!r}")
        func, kwargs = FOLDABLE_FUNCTIONS[step.func], dict(step.kw_args or {})
        return (lambda x: func(x, **kwargs)) if kwargs else func
    if kind is ColumnTransformer:
        return _fold_columns(step)
    if type(step).__name__ in LINEAR_REGRESSORS and np.ndim(getattr(step, "coef_", None)) == 1:
        return Affine(np.asarray(step.coef_, dtype=np.float64), float(np.ravel(step.intercept_)[0]))
    if kind is SVR and step.kernel == "rbf":
        return _fold_rbf_svr(step)
    if kind is VotingRegressor:
        return _fold_average([_fold(member) for member in step.estimators_], step.weights)
    raise NotFoldable(kind.__name__)


def _is_passthrough(step: Any) -> bool:
    return isinstance(step, str) and step == "passthrough"


def _fold_chain(steps: list[Any]) -> Step:
    """Steps in order, adjacent affine steps composed into one."""
    folded: list[Step] = []
    for step in map(_fold, steps):
        if isinstance(step, Affine) and folded and isinstance(folded[-1], Affine):
            folded[-1] = folded[-1].then(step)
        else:
            folded.append(step)
    if len(folded) == 1:
        return folded[0]

    def chain(x: np.ndarray) -> np.ndarray:
        for f in folded:
            x = f(x)
        return x

    return chain


def _fold_rbf_svr(svr: Any) -> Step:
    support, gamma = np.asarray(svr.support_vectors_, dtype=np.float64), float(svr._gamma)
    dual, intercept = np.asarray(svr.dual_coef_[0], dtype=np.float64), float(svr.intercept_[0])
    support_norms, twice_support_t = np.square(support).sum(axis=1), 2.0 * support.T

    def rbf_svr(x: np.ndarray) -> np.ndarray:
        squared_distances = np.square(x).sum(axis=1)[:, None] + support_norms - x @ twice_support_t
        return np.exp(-gamma * np.maximum(squared_distances, 0.0)) @ dual + intercept

    return rbf_svr


def _fold_average(members: list[Step], weights: Any) -> Step:
    """A (weighted) mean of member predictions; the affine members' share collapses into one affine map."""
    shares = np.full(len(members), 1.0 / len(members)) if weights is None else np.asarray(weights) / np.sum(weights)
    affine = [(share, m) for share, m in zip(shares, members, strict=True) if isinstance(m, Affine)]
    others = [(float(share), m) for share, m in zip(shares, members, strict=True) if not isinstance(m, Affine)]
    linear = (Affine(sum(share * m.weights for share, m in affine), sum(share * m.intercept for share, m in affine))
              if affine else None)  # fmt: skip
    if not others:
        return linear

    def average(x: np.ndarray) -> np.ndarray:
        total = linear(x) if linear is not None else 0.0
        for share, member in others:
            total = total + share * member(x)
        return total

    return average


def _fold_columns(transformer: Any) -> Step:
    """A ColumnTransformer whose columns are positions: each part on its columns, side by side. Only column picks
    (passthrough) make it one selection matrix."""
    if getattr(transformer, "sparse_output_", False):
        raise NotFoldable("sparse ColumnTransformer output")
    parts: list[tuple[Step | None, np.ndarray]] = []
    for _, part, columns in transformer.transformers_:
        if isinstance(part, str) and part == "drop":
            continue
        positions = np.asarray(columns)
        if positions.dtype.kind not in "iu":  # names or a mask: the frame path handles those
            raise NotFoldable(f"columns {columns!r}")
        if positions.size:
            parts.append((None if _is_passthrough(part) else _fold(part), positions))
    if all(f is None for f, _ in parts):
        picked = np.concatenate([cols for _, cols in parts])
        selection = np.zeros((transformer.n_features_in_, len(picked)))
        selection[picked, np.arange(len(picked))] = 1.0
        return Affine(selection, np.zeros(len(picked)))
    folded = [(f if f is not None else (lambda x: x), _columns(cols)) for f, cols in parts]
    return lambda x: np.concatenate([f(x[:, cols]) for f, cols in folded], axis=1)


def _columns(positions: np.ndarray) -> slice | np.ndarray:
    """A slice (a view, no copy) when the positions are consecutive and increasing."""
    start = int(positions[0])
    if np.array_equal(positions, np.arange(start, start + len(positions))):
        return slice(start, start + len(positions))
    return positions
