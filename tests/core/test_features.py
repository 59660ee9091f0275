"""Derived features: values, the Navy term's floor, and a saved model that loads without project code."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import skops.io
from bodyfat_contract import FEATURE_NAMES, TARGET, model_features

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.families import build_pipeline
from bodyfat_assets.core.features import WAIST_MINUS_NECK_FLOOR_CM, log_feature_names, log_features

ENSEMBLE_PARAMS = {"lasso_alpha": 0.01, "svr_C": 10.0, "svr_epsilon": 0.5, "svr_gamma": 0.01}


@pytest.fixture(scope="module")
def cleaned(seed_frame: pd.DataFrame) -> pd.DataFrame:
    return clean(seed_frame).cleaned


def test_log_features_are_logs_and_the_navy_term(cleaned: pd.DataFrame) -> None:
    X = cleaned[list(FEATURE_NAMES)]
    out = log_features(FEATURE_NAMES).fit_transform(X)
    assert out.shape == (len(X), len(FEATURE_NAMES) + 1) == (len(X), len(log_feature_names(FEATURE_NAMES)))
    np.testing.assert_allclose(out[:, :-1], np.log(X.to_numpy()))
    np.testing.assert_allclose(out[:, -1], np.log(X["Abdomen"] - X["Neck"]))


def test_features_follow_the_column_order_not_names(cleaned: pd.DataFrame) -> None:
    # Density first (an experiment's feature list): the Navy term must still be Abdomen − Neck.
    features = model_features(allow_density=True)[::-1]
    out = log_features(features).fit_transform(cleaned[features].to_numpy())
    np.testing.assert_allclose(out[:, -1], np.log(cleaned["Abdomen"] - cleaned["Neck"]))


def test_waist_not_above_neck_stays_finite() -> None:
    row = np.array([[30, 180, 70, 60, 100, 55, 100, 60, 40, 23, 32, 28, 18]], dtype=float)  # Abdomen 55 < Neck 60
    out = log_features(FEATURE_NAMES).fit_transform(row)
    assert out[0, -1] == np.log(WAIST_MINUS_NECK_FLOOR_CM)


def test_features_need_the_navy_columns() -> None:
    with pytest.raises(ValueError, match="Neck"):
        log_features(["Age", "Abdomen"])


def test_saved_ensemble_loads_and_predicts_without_project_code(cleaned: pd.DataFrame, tmp_path) -> None:
    """What serving does: skops (directly, and through MLflow) with only scikit-learn/numpy types trusted, in a
    process where importing bodyfat_assets fails."""
    import mlflow.sklearn

    X, y = cleaned[list(FEATURE_NAMES)], cleaned[TARGET.name]
    model = build_pipeline("ensemble", ENSEMBLE_PARAMS).fit(X, y)
    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    assert all(t.startswith(("sklearn.", "numpy.")) for t in untrusted), untrusted
    skops.io.dump(model, tmp_path / "model.skops")
    mlflow.sklearn.save_model(model, tmp_path / "mlflow_model", serialization_format="skops",
                              skops_trusted_types=untrusted)
    rows = X.head(5).to_numpy()
    np.save(tmp_path / "rows.npy", rows)
    np.save(tmp_path / "expected.npy", model.predict(X.head(5)))
    script = textwrap.dedent(f"""
        import sys
        sys.modules["bodyfat_assets"] = None  # any import of project code raises ImportError
        import numpy as np, skops.io, mlflow.sklearn
        rows, expected = np.load({str(tmp_path / "rows.npy")!r}), np.load({str(tmp_path / "expected.npy")!r})
        path = {str(tmp_path / "model.skops")!r}
        untrusted = skops.io.get_untrusted_types(file=path)
        assert all(t.startswith(("sklearn.", "numpy.")) for t in untrusted), untrusted
        for model in (skops.io.load(path, trusted=untrusted),
                      mlflow.sklearn.load_model({str(tmp_path / "mlflow_model")!r})):
            np.testing.assert_allclose(model.predict(rows), expected, rtol=1e-12)
        try:
            import bodyfat_assets  # noqa: F401
        except ImportError:
            print("ok without bodyfat_assets")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "ok without bodyfat_assets" in done.stdout
