"""The one switch between environments.

`BODYFAT_ENV=embedded` (the default) keeps everything in a project-local folder: the lake is a directory, MLflow
tracks into SQLite with local artifacts, Optuna studies live in SQLite. `BODYFAT_ENV=production` reads the
service locations from the environment (S3/MinIO lake, MLflow server, Optuna on PostgreSQL) and refuses to start
without them. Every other module asks `Settings.from_env()`; no location is written anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SEED_DATASET = PROJECT_ROOT / "data" / "bodyfat.csv"


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set when BODYFAT_ENV=production")
    return value


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc


def _int(env: dict[str, str], name: str, default: int) -> int:
    value = _float(env, name, default)
    if value != int(value):
        raise SettingsError(f"{name}={value!r} is not an integer")
    return int(value)


@dataclass(frozen=True)
class TuningSettings:
    n_trials: int = 50
    timeout_s: float | None = None
    cv_folds: int = 5
    seed: int = 42
    families: tuple[str, ...] = ()
    """Empty: every family in `core/families.py` (the list lives there only)."""


@dataclass(frozen=True)
class PromotionSettings:
    margin: float = 0.0
    """A challenger must beat the champion's test RMSE by more than this (absolute, in % body fat)."""
    rmse_ceiling: float = 6.0
    """The blocking check fails any model whose test RMSE is above this."""
    baseline_tolerance: float = 0.10
    """The blocking check fails a model more than this fraction worse than a ridge baseline on the same split."""


@dataclass(frozen=True)
class LandingSettings:
    prefix: str = "landing"
    """Folder of the lake where new files arrive (`<prefix>/train/`, `<prefix>/score/`) and leave to
    `<prefix>/processed/` or `<prefix>/rejected/`."""
    sensor_interval_s: int = 30
    """How often the landing and retraining sensors look (seconds)."""
    retrain_min_rows: int = 50
    """Ingested rows not yet seen by a training run that justify a retrain."""
    retrain_min_interval_s: int = 600
    """At least this long between two retraining runs, however many rows arrive."""
    sensors_running: bool = True
    """Default status of the sensors: RUNNING so the embedded loop works without clicks; production defaults to
    STOPPED (an operator switches them on in Dagit) unless BODYFAT_SENSORS=running."""


@dataclass(frozen=True)
class Settings:
    env: str
    home: Path
    lake_url: str
    s3_endpoint_url: str | None
    mlflow_tracking_uri: str
    mlflow_artifact_location: str | None
    optuna_storage: str | None
    """None keeps the study in memory (embedded default: fastest); a URL persists it so runs resume it."""
    model_name: str = "bodyfat"
    experiment_name: str = "bodyfat"
    test_fraction: float = 0.2
    split_seed: int = 42
    allow_density: bool = False
    tuning: TuningSettings = field(default_factory=TuningSettings)
    promotion: PromotionSettings = field(default_factory=PromotionSettings)
    landing: LandingSettings = field(default_factory=LandingSettings)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        kind = env.get("BODYFAT_ENV", "embedded").strip() or "embedded"
        home = Path(env.get("BODYFAT_HOME") or PROJECT_ROOT / ".bodyfat").resolve()
        timeout = _float(env, "BODYFAT_TUNING_TIMEOUT_S", 0.0)
        families = env.get("BODYFAT_FAMILIES", "").strip()
        tuning = TuningSettings(
            n_trials=_int(env, "BODYFAT_TRIALS", TuningSettings.n_trials),
            timeout_s=timeout or None,
            cv_folds=_int(env, "BODYFAT_CV_FOLDS", TuningSettings.cv_folds),
            seed=_int(env, "BODYFAT_SEED", TuningSettings.seed),
            families=tuple(f.strip() for f in families.split(",") if f.strip()),
        )
        promotion = PromotionSettings(
            margin=_float(env, "BODYFAT_PROMOTION_MARGIN", PromotionSettings.margin),
            rmse_ceiling=_float(env, "BODYFAT_RMSE_CEILING", PromotionSettings.rmse_ceiling),
            baseline_tolerance=_float(env, "BODYFAT_BASELINE_TOLERANCE", PromotionSettings.baseline_tolerance),
        )
        common = dict(
            model_name=env.get("BODYFAT_MODEL_NAME", "bodyfat"),
            experiment_name=env.get("BODYFAT_EXPERIMENT", "bodyfat"),
            test_fraction=_float(env, "BODYFAT_TEST_FRACTION", 0.2),
            split_seed=_int(env, "BODYFAT_SPLIT_SEED", 42),
            allow_density=env.get("BODYFAT_ALLOW_DENSITY", "").lower() in ("1", "true", "yes"),
            tuning=tuning,
            promotion=promotion,
            landing=_landing(env, kind),
        )
        if kind == "embedded":
            return cls(
                env=kind,
                home=home,
                lake_url=str(home / "lake"),
                s3_endpoint_url=None,
                mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
                mlflow_artifact_location=(home / "mlartifacts").as_uri(),
                optuna_storage=env.get("OPTUNA_STORAGE") or None,
                **common,
            )
        if kind == "production":
            bucket = _required(env, "BODYFAT_BUCKET")
            prefix = env.get("BODYFAT_LAKE_PREFIX", "lake").strip("/")
            return cls(
                env=kind,
                home=home,
                lake_url=f"s3://{bucket}/{prefix}",
                s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
                mlflow_tracking_uri=_required(env, "MLFLOW_TRACKING_URI"),
                mlflow_artifact_location=None,
                optuna_storage=_required(env, "OPTUNA_STORAGE"),
                **common,
            )
        raise SettingsError(f"BODYFAT_ENV={kind!r}: expected 'embedded' or 'production'")


def _landing(env: dict[str, str], kind: str) -> LandingSettings:
    status = env.get("BODYFAT_SENSORS", "").strip().lower()
    if status not in ("", "running", "stopped"):
        raise SettingsError(f"BODYFAT_SENSORS={status!r}: expected 'running' or 'stopped'")
    return LandingSettings(
        prefix=env.get("BODYFAT_LANDING_PREFIX", LandingSettings.prefix).strip("/") or LandingSettings.prefix,
        sensor_interval_s=_int(env, "BODYFAT_SENSOR_INTERVAL_S", LandingSettings.sensor_interval_s),
        retrain_min_rows=_int(env, "BODYFAT_RETRAIN_MIN_ROWS", LandingSettings.retrain_min_rows),
        retrain_min_interval_s=_int(env, "BODYFAT_RETRAIN_MIN_INTERVAL_S", LandingSettings.retrain_min_interval_s),
        sensors_running=status == "running" if status else kind == "embedded",
    )
