"""Model families: each a full scikit-learn Pipeline (scaling inside, so CV folds never see test statistics)
and an Optuna search space. Adding a family means adding one `Family` entry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import ElasticNet, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR


@dataclass(frozen=True)
class Family:
    name: str
    suggest: Callable[[optuna.Trial], dict[str, Any]]
    build: Callable[[dict[str, Any], int], Pipeline]


def _scaled(estimator: Any) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("model", estimator)])


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "ridge",
            lambda t: {"alpha": t.suggest_float("ridge_alpha", 1e-3, 1e3, log=True)},
            lambda p, seed: _scaled(Ridge(alpha=p["alpha"])),
        ),
        Family(
            "elasticnet",
            lambda t: {
                "alpha": t.suggest_float("enet_alpha", 1e-4, 10.0, log=True),
                "l1_ratio": t.suggest_float("enet_l1_ratio", 0.0, 1.0),
            },
            lambda p, seed: _scaled(ElasticNet(alpha=p["alpha"], l1_ratio=p["l1_ratio"], max_iter=20_000)),
        ),
        Family(
            "svr",
            lambda t: {
                "C": t.suggest_float("svr_C", 0.1, 1e3, log=True),
                "epsilon": t.suggest_float("svr_epsilon", 0.01, 3.0, log=True),
                "gamma": t.suggest_float("svr_gamma", 1e-4, 0.5, log=True),
            },
            lambda p, seed: _scaled(SVR(C=p["C"], epsilon=p["epsilon"], gamma=p["gamma"])),
        ),
        Family(
            "knn",
            lambda t: {
                "n_neighbors": t.suggest_int("knn_n_neighbors", 2, 40),
                "weights": t.suggest_categorical("knn_weights", ["uniform", "distance"]),
            },
            lambda p, seed: _scaled(KNeighborsRegressor(n_neighbors=p["n_neighbors"], weights=p["weights"])),
        ),
        Family(
            "random_forest",
            lambda t: {
                "n_estimators": t.suggest_int("rf_n_estimators", 50, 250, step=50),
                "max_depth": t.suggest_int("rf_max_depth", 2, 12),
                "min_samples_leaf": t.suggest_int("rf_min_samples_leaf", 1, 10),
                "max_features": t.suggest_float("rf_max_features", 0.2, 1.0),
            },
            lambda p, seed: Pipeline([("model", RandomForestRegressor(**p, random_state=seed, n_jobs=1))]),
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
            lambda p, seed: Pipeline([("model", HistGradientBoostingRegressor(**p, random_state=seed))]),
        ),
    )
}


def build_pipeline(family: str, params: dict[str, Any], seed: int = 42) -> Pipeline:
    try:
        return FAMILIES[family].build(params, seed)
    except KeyError as exc:
        raise ValueError(f"unknown model family {family!r}; known: {sorted(FAMILIES)}") from exc
