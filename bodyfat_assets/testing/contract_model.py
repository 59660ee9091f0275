"""Register models exactly as the pipeline's model contract says, without the Dagster pipeline.

Shared by the serving tests and bench/serving.py. Needs full mlflow (the test/bench environment), never `serving/`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURES, TARGET, model_features
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from bodyfat_assets.settings import BODYFAT_CSV

# What skops must be told to trust for a HistGradientBoosting pipeline (MLflow refuses to log it otherwise).
HGB_TRUSTED_TYPES = [
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.Interval",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
]

# A representative configuration (ensemble trials on the seed data pick lasso alpha 1e-3..1e-2, SVR C 1..100).
ENSEMBLE_PARAMS = {"lasso_alpha": 0.01, "svr_C": 10.0, "svr_epsilon": 0.5, "svr_gamma": 0.01}


def training_frame() -> pd.DataFrame:
    frame = pd.read_csv(BODYFAT_CSV)
    keep = frame[TARGET.name].between(TARGET.low, TARGET.high)
    for feature in FEATURES:
        keep &= frame[feature.name].between(feature.low, feature.high)
    return frame.loc[keep].reset_index(drop=True)


def log_contract_model(
    name: str, family: str = "ridge", alpha: float = 1.0, alias: str | None = "champion", half_width: float = 7.0
) -> str:
    """Fit, log and register one model per the contract; set `alias` on the new version. Returns the version.

    Uses the current MLflow tracking URI (set it before calling).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    features = model_features()
    frame = training_frame()
    x, y = frame[features], frame[TARGET.name]
    if family == "hgb":
        pipeline = Pipeline([("model", HistGradientBoostingRegressor(max_iter=100, random_state=0))]).fit(x, y)
        trusted = HGB_TRUSTED_TYPES
    elif family == "ensemble":  # the pipeline's log-feature ensemble (the bench/test environment has bodyfat_assets)
        import skops.io

        from bodyfat_assets.core.families import build_pipeline

        pipeline = build_pipeline("ensemble", ENSEMBLE_PARAMS, features=features).fit(x, y)
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    else:
        pipeline = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=alpha))]).fit(x, y)
        trusted = None
    predictions = pipeline.predict(x)
    with mlflow.start_run() as run:
        card = {
            "features": features,
            "interval_half_width_90": half_width,
            "test_rmse": float(np.sqrt(np.mean((predictions - y) ** 2))),
            "test_mae": float(np.mean(np.abs(predictions - y))),
            "test_r2": 0.7,
            "family": family,
            "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "run_id": run.info.run_id,
        }
        info = mlflow.sklearn.log_model(
            sk_model=pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=trusted,
            signature=infer_signature(x, predictions),
            input_example=x.head(5),
            pip_requirements=["scikit-learn==1.9.1", "skops==0.16.0", "numpy==2.4.6", "pandas==2.3.3"],
            metadata=card,
            registered_model_name=name,
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(name, version, "test_rmse", str(card["test_rmse"]))
    client.set_model_version_tag(name, version, "family", family)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return version
