"""Rebuild the bundled fallback model: `python -m serving.fallback.build_fallback [path/to/bodyfat.csv]`.

The fallback is what the API serves when MLflow is unreachable or has no champion yet: a Ridge pipeline on the 13
tape-measure predictors (never Density), saved with skops (no pickle), plus `card.json` in the same shape as the
registry's model card. Deterministic: same CSV and library versions, same file.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import skops.io as sio
from bodyfat_contract import FEATURES, TARGET, model_features, training_population, training_profile
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
DEFAULT_CSV = HERE.parent.parent / "data" / "bodyfat.csv"
MODEL_FILE = HERE / "model.skops"
CARD_FILE = HERE / "card.json"
SEED = 42


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep rows inside the schema's plausible ranges, the same ranges the API validates against."""
    keep = frame[TARGET.name].between(TARGET.low, TARGET.high)
    for feature in FEATURES:
        keep &= frame[feature.name].between(feature.low, feature.high)
    return frame.loc[keep]


def build(csv_path: Path = DEFAULT_CSV, out_dir: Path = HERE) -> dict:
    features = model_features()
    frame = _clean(pd.read_csv(csv_path))
    x, y = frame[features], frame[TARGET.name].to_numpy()
    # 60/20/20: fit, calibrate the conformal interval, test. The calibration rows never touch the fit.
    x_fit, x_rest, y_fit, y_rest = train_test_split(x, y, test_size=0.4, random_state=SEED)
    x_cal, x_test, y_cal, y_test = train_test_split(x_rest, y_rest, test_size=0.5, random_state=SEED)
    pipeline = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=1.0))]).fit(x_fit, y_fit)

    residuals = np.sort(np.abs(y_cal - pipeline.predict(x_cal)))
    # Split-conformal: the ceil((n+1)(1-alpha))-th smallest residual gives >= 90% marginal coverage.
    rank = min(math.ceil((len(residuals) + 1) * 0.9), len(residuals)) - 1
    predictions = pipeline.predict(x_test)
    card = {
        "features": features,
        "interval_half_width_90": round(float(residuals[rank]), 6),
        "test_rmse": round(float(np.sqrt(mean_squared_error(y_test, predictions))), 6),
        "test_mae": round(float(mean_absolute_error(y_test, predictions)), 6),
        "test_r2": round(float(r2_score(y_test, predictions)), 6),
        "family": "ridge",
        "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "run_id": None,
        "rows": {"fit": len(y_fit), "calibration": len(y_cal), "test": len(y_test)},
        "training_profile": training_profile({**{c: x_fit[c] for c in features}, TARGET.name: y_fit}),
        "training_population": training_population({c: x_fit[c].tolist() for c in features}),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    sio.dump(pipeline, out_dir / MODEL_FILE.name)
    (out_dir / CARD_FILE.name).write_text(json.dumps(card, indent=2) + "\n")
    return card


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV), indent=2))
