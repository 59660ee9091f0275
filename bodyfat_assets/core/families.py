"""Model families: each a full scikit-learn Pipeline (scaling and derived features inside, so CV folds never see
test statistics) and an Optuna search space. Adding a family means adding one `Family` entry.

The default search (`DEFAULT_FAMILIES`) is the log-feature families and their equal-weight ensemble. k-NN, random
forest, boosting and the raw-feature linear models stay selectable (BODYFAT_FAMILIES, run config) but never paid
for their trials: nested repeated CV in bench/model_quality.py, figures in the README's model section."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from bodyfat_contract import FEATURE_NAMES
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor, VotingRegressor
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from bodyfat_assets.core.features import log_features, navy_term_positions


@dataclass(frozen=True)
class Family:
    name: str
    suggest: Callable[[optuna.Trial], dict[str, Any]]
    build: Callable[[dict[str, Any], int, Sequence[str]], Pipeline]
    """(params, seed, the model's feature columns in order) -> an unfitted pipeline."""


def _scaled(estimator: Any) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", estimator)])


def _on_logs(features: Sequence[str], model: Any) -> Pipeline:
    """`model` fitted on `log_features(features)`: the log of every predictor and log(Abdomen − Neck)."""
    return Pipeline([("features", log_features(features)), ("model", model)])


def _navy_ols(features: Sequence[str]) -> Pipeline:
    """Ordinary least squares on the two US-Navy terms, picked from the log features. No hyperparameter: the fixed
    anchor of the search."""
    pick = ColumnTransformer([("navy_terms", "passthrough", navy_term_positions(features))])
    return Pipeline([("pick", pick), ("model", LinearRegression())])


def _log_lasso(alpha: float) -> Pipeline:
    return _scaled(Lasso(alpha=alpha, max_iter=50_000))


def _log_svr(p: dict[str, Any]) -> Pipeline:
    return _scaled(SVR(kernel="rbf", C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"]))


def _suggest_svr(t: optuna.Trial, prefix: str) -> dict[str, Any]:
    return {"C": t.suggest_float(f"{prefix}_C", 0.1, 1e3, log=True),
            "epsilon": t.suggest_float(f"{prefix}_epsilon", 0.01, 3.0, log=True),
            "gamma": t.suggest_float(f"{prefix}_gamma", 1e-4, 0.5, log=True)}


def _ensemble(p: dict[str, Any], features: Sequence[str]) -> Pipeline:
    """Equal-weight average of Navy-form OLS, lasso and RBF SVR, all on the log features (computed once).
    Equal weights, not learned ones: stacking weights lost to them in nested-CV measurements."""
    members = [("navy_ols", _navy_ols(features)), ("log_lasso", _log_lasso(p["lasso_alpha"])),
               ("log_svr", _log_svr({"C": p["svr_C"], "epsilon": p["svr_epsilon"], "gamma": p["svr_gamma"]}))]
    return _on_logs(features, VotingRegressor(members))


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "ridge",
            lambda t: {"alpha": t.suggest_float("ridge_alpha", 1e-3, 1e3, log=True)},
            lambda p, seed, features: _scaled(Ridge(alpha=p["alpha"])),
        ),
        Family(
            "elasticnet",
            lambda t: {
                "alpha": t.suggest_float("enet_alpha", 1e-4, 10.0, log=True),
                "l1_ratio": t.suggest_float("enet_l1_ratio", 0.0, 1.0),
            },
            lambda p, seed, features: _scaled(ElasticNet(alpha=p["alpha"], l1_ratio=p["l1_ratio"], max_iter=20_000)),
        ),
        Family(
            "svr",
            lambda t: {
                "C": t.suggest_float("svr_C", 0.1, 1e3, log=True),
                "epsilon": t.suggest_float("svr_epsilon", 0.01, 3.0, log=True),
                "gamma": t.suggest_float("svr_gamma", 1e-4, 0.5, log=True),
            },
            lambda p, seed, features: _scaled(SVR(C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"])),
        ),
        Family(
            "knn",
            lambda t: {
                "n_neighbors": t.suggest_int("knn_n_neighbors", 2, 40),
                "weights": t.suggest_categorical("knn_weights", ["uniform", "distance"]),
            },
            lambda p, seed, features: _scaled(KNeighborsRegressor(n_neighbors=p["n_neighbors"], weights=p["weights"])),
        ),
        Family(
            "random_forest",
            lambda t: {
                "n_estimators": t.suggest_int("rf_n_estimators", 50, 250, step=50),
                "max_depth": t.suggest_int("rf_max_depth", 2, 12),
                "min_samples_leaf": t.suggest_int("rf_min_samples_leaf", 1, 10),
                "max_features": t.suggest_float("rf_max_features", 0.2, 1.0),
            },
            lambda p, seed, features: Pipeline([("model", RandomForestRegressor(**p, random_state=seed, n_jobs=1))]),
        ),
        Family(
            "hist_gradient_boosting",
            lambda t: {
                "learning_rate": t.suggest_float("hgb_learning_rate", 0.01, 0.3, log=True),
                "max_iter": t.suggest_int("hgb_max_iter", 50, 300, step=50),
                "max_leaf_nodes": t.suggest_int("hgb_max_leaf_nodes", 4, 31),
                "min_samples_leaf": t.suggest_int("hgb_min_samples_leaf", 5, 40),
                "l2_regularization": t.suggest_float("hgb_l2", 1e-3, 10.0, log=True),
            },
            lambda p, seed, features: Pipeline([("model", HistGradientBoostingRegressor(**p, random_state=seed))]),
        ),
        Family(
            "log_ridge",
            lambda t: {"alpha": t.suggest_float("log_ridge_alpha", 1e-3, 1e3, log=True)},
            lambda p, seed, features: _on_logs(features, _scaled(Ridge(alpha=p["alpha"]))),
        ),
        Family(
            "log_lasso",
            lambda t: {"alpha": t.suggest_float("log_lasso_alpha", 1e-4, 1.0, log=True)},
            lambda p, seed, features: _on_logs(features, _log_lasso(p["alpha"])),
        ),
        Family("navy_ols", lambda t: {}, lambda p, seed, features: _on_logs(features, _navy_ols(features))),
        Family(
            "log_svr",
            lambda t: _suggest_svr(t, "log_svr"),
            lambda p, seed, features: _on_logs(features, _log_svr(p)),
        ),
        Family(
            "ensemble",
            lambda t: {"lasso_alpha": t.suggest_float("ens_lasso_alpha", 1e-4, 1.0, log=True),
                       **{f"svr_{k}": v for k, v in _suggest_svr(t, "ens_svr").items()}},
            lambda p, seed, features: _ensemble(p, features),
        ),
    )
}

DEFAULT_FAMILIES: tuple[str, ...] = ("log_ridge", "log_lasso", "navy_ols", "log_svr", "ensemble")
"""What an empty family setting searches (this is the only place that lists it)."""


def resolve_families(families: Sequence[str]) -> tuple[str, ...]:
    """`families`, or DEFAULT_FAMILIES when empty; refuses unknown names."""
    chosen = tuple(families) or DEFAULT_FAMILIES
    unknown = set(chosen) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown model families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    return chosen


def build_pipeline(family: str, params: dict[str, Any], seed: int = 42,
                   features: Sequence[str] = FEATURE_NAMES) -> Pipeline:
    """An unfitted pipeline for `family` with `params`, fed the columns `features` in that order."""
    try:
        build = FAMILIES[family].build
    except KeyError as exc:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}") from exc
    return build(params, seed, list(features))
