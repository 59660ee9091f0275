"""The prediction log's layout, one place for both sides: the API writes it (serving/prediction_log.py) and the
platform reads it back (served performance and served traffic in bodyfat_assets/core/health/)."""

from __future__ import annotations

from bodyfat_contract import CALLER_ID, FEATURE_NAMES

PREFIX = "prediction_log"
"""The log's folder in the lake; objects go under `date=YYYY-MM-DD/hour=HH/`."""
PREDICTION_ID = "prediction_id"
SERVED_AT = "served_at"
ENDPOINT = "endpoint"
MODEL_NAME, MODEL_VERSION, MODEL_SOURCE = "model_name", "model_version", "model_source"
FEATURES_USED = "features_used"
PREDICTION, LOW, HIGH = "body_fat_pct", "interval_low", "interval_high"
SHADOW_VERSION, SHADOW_PREDICTION = "shadow_model_version", "shadow_prediction"
"""Written by an API that scores a shadow challenger beside the champion; null where none scored the row, absent
from older logs (no shadow evidence)."""
COLUMNS = (PREDICTION_ID, SERVED_AT, ENDPOINT, MODEL_NAME, MODEL_VERSION, MODEL_SOURCE, FEATURES_USED, CALLER_ID,
           *FEATURE_NAMES, PREDICTION, LOW, HIGH, SHADOW_VERSION, SHADOW_PREDICTION)
