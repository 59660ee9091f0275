"""Serving configuration, read from the environment (`BODYFAT_SERVING_*`, plus the standard MLflow variables)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bodyfat_contract.registry import CHAMPION
from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

FALLBACK_DIR = Path(__file__).resolve().parent / "fallback"


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BODYFAT_SERVING_", extra="ignore", frozen=True, populate_by_name=True)

    # The model name is shared with the pipeline, so it keeps the pipeline's variable name.
    model_name: str = Field(
        default="bodyfat", validation_alias=AliasChoices("BODYFAT_MODEL_NAME", "BODYFAT_SERVING_MODEL_NAME")
    )
    model_alias: str = CHAMPION
    # None means "whatever MLflow defaults to" (MLFLOW_TRACKING_URI, else ./mlruns).
    tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "BODYFAT_SERVING_TRACKING_URI")
    )
    poll_interval_s: float = Field(default=30.0, gt=0)
    # Bounds every registry call so an unreachable MLflow costs seconds, not MLflow's default minutes of retries.
    registry_timeout_s: float = Field(default=5.0, gt=0)
    registry_max_retries: int = Field(default=0, ge=0)
    fallback_dir: Path = FALLBACK_DIR
    # Serve scaler+linear pipelines as one verified affine map instead of sklearn's predict (same numbers, no
    # per-call validation). Off = always call the sklearn pipeline.
    fold_linear: bool = True
    # Coalesce concurrent single-row requests into one model call (not used for folded linear models).
    micro_batch: bool = True
    micro_batch_max_rows: int = Field(default=64, gt=0)
    max_batch_rows: int = Field(default=10_000, gt=0)
    # Slow or stalled clients: a request's headers must arrive within header_timeout_s and its
    # body within body_timeout_s (408); on SIGTERM, in-flight requests get shutdown_grace_s, then are cancelled.
    header_timeout_s: float = Field(default=10.0, gt=0)
    # The request line and headers together, and their number (431 over either, the connection closed). Unbounded,
    # 8 connections sending 100 MB of headers took the API from 277 MB to 880 MB RSS before any key check. 64 KiB is
    # 4x Node's 16 KiB default and holds a browser's head with a fat cookie (~5 KB); 100 headers is Apache's and
    # Python http.server's limit (browsers send ~20).
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    max_header_count: int = Field(default=100, gt=0)
    body_timeout_s: float = Field(default=30.0, gt=0)
    shutdown_grace_s: int = Field(default=10, ge=0)
    keep_alive_s: int = Field(default=5, gt=0)
    # Predict endpoints require `X-API-Key` only when this is set.
    api_key: SecretStr | None = None
    # `POST /admin/reload` answers 404 (as if it did not exist) unless this is set.
    admin_token: SecretStr | None = None
    # The prediction log (serving/prediction_log.py): every answered prediction, written to `<lake_url>/prediction_log/`
    # (a folder, or s3://bucket/prefix with the standard AWS credential variables). Unset, or prediction_log off:
    # ids are still returned, nothing is recorded.
    lake_url: str | None = None
    s3_endpoint_url: str | None = Field(
        default=None, validation_alias=AliasChoices("S3_ENDPOINT_URL", "BODYFAT_SERVING_S3_ENDPOINT_URL")
    )
    prediction_log: bool = True
    # Rows held while the lake is slow or down; more are dropped and counted (bodyfat_prediction_log_dropped_total).
    # 20,000 held single rows took the API from 389 to 414 MiB RSS (peak 428 MiB) over 100,000 predictions with the
    # lake down (bench/serving_ab.py --log-ab).
    prediction_log_max_rows: int = Field(default=20_000, gt=0)
    prediction_log_flush_s: float = Field(default=5.0, gt=0)
    prediction_log_flush_rows: int = Field(default=10_000, gt=0)
    # One S3 attempt's connect and read timeouts: a stalled lake occupies the writer thread, never a request.
    prediction_log_timeout_s: float = Field(default=5.0, gt=0)
    # The shadow challenger (serving/shadow.py): also follow `shadow_alias` and score every logged prediction with
    # it in the log's writer thread, recorded beside the champion's and never returned. Needs the prediction log.
    shadow_challenger: bool = False
    shadow_alias: str = "challenger"
    host: str = "0.0.0.0"  # noqa: S104 - a container binds all interfaces; set 127.0.0.1 for local runs
    port: int = 8000
    log_level: str = "info"

    @field_validator("api_key", "admin_token", "tracking_uri", "lake_url", "s3_endpoint_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # docker-compose turns `${VAR:-}` into an empty string: that must mean "off", never "the key is ''".
        return None if isinstance(value, str) and not value.strip() else value
