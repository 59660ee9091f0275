"""The one configuration model, and the only module that reads the environment.

Every knob is declared once below, with its variable name, type, default and description. The groups (`data`,
`tuning`, `promotion`, `landing`, `scoring`, `health`, `services`, `demo`) are the config objects the rest of the code
receives; the Dagster resources hold them as nested config (`resources_for` in resources.py, `group_config.py`),
and `Settings.lake` is the one lake object. `BODYFAT_ENV=embedded` (the default) keeps everything in a
project-local folder: the lake is a directory, MLflow tracks into SQLite with local artifacts, Optuna studies stay
in memory unless OPTUNA_STORAGE is set. `BODYFAT_ENV=production` takes the service locations from the
environment (S3/MinIO lake, MLflow server, Optuna on PostgreSQL) and refuses to start without them.

`python -m bodyfat_assets.settings` prints the variable table docs/configuration.md shows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bodyfat_assets.core.health.drift import DriftThresholds
from bodyfat_assets.core.health.evidence import EvidencePolicy
from bodyfat_assets.core.landing.requeue import RequeuePolicy
from bodyfat_assets.lake import Lake

if TYPE_CHECKING:
    from bodyfat_assets.core.tuning import TuningConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BODYFAT_CSV = PROJECT_ROOT / "data" / "bodyfat.csv"
"""The body-fat seed the project ships (data/README.md): BODYFAT_SEED_DATASET's default."""


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


ENVIRONMENT_DEFAULTS: dict[str, tuple[Any, Any]] = {
    # Production starts its sensors STOPPED unless told otherwise.
    "BODYFAT_SENSORS": ("running", "stopped"),
    # The interval counts from the newest retraining run, the demo's own included: at 600 s the first `make feed`
    # after `make demo` waited 5 min 33 s for its decision (about 10 min when fed at once). A demo retrain takes about
    # 40 s, so 60 s embedded; production keeps 600 s between retrains of real data.
    "BODYFAT_RETRAIN_MIN_INTERVAL_S": (60, 600),
}
"""Variables whose default depends on BODYFAT_ENV: (embedded default, production default)."""


def per_environment(env: str, description: str) -> str:
    """`description` with the variable's embedded and production defaults (ENVIRONMENT_DEFAULTS)."""
    embedded, production = ENVIRONMENT_DEFAULTS[env]
    return f"{description} (default: {embedded} embedded, {production} in production)"


def knob(default: Any, env: str, description: str, *legacy: str, **constraints: Any) -> Any:
    """A field read from the variable `env` (older names in `legacy` still accepted)."""
    alias = AliasChoices(env, *legacy) if legacy else env
    return Field(default, validation_alias=alias, description=description, **constraints)


class Group(BaseModel):
    """A group of knobs: each group picks its own variables from the flat environment and ignores the others."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    def as_env(self) -> dict[str, str]:
        """The group as variables, for a child process that must see the same configuration."""
        return {env_name(info): _as_variable(getattr(self, name))
                for name, info in type(self).model_fields.items() if getattr(self, name) is not None}


class TuningSettings(Group):
    n_trials: int = knob(50, "BODYFAT_TRIALS", "Optuna trials per tuning run", ge=1)
    timeout_s: float | None = knob(None, "BODYFAT_TUNING_TIMEOUT_S",
                                   "stop the study after this many seconds (empty or 0: no limit)", ge=0)
    cv_folds: int = knob(5, "BODYFAT_CV_FOLDS", "k in k-fold CV", ge=2)
    seed: int = knob(42, "BODYFAT_SEED", "seed of the CV folds, the models and the TPE sampler")
    families: tuple[str, ...] = knob((), "BODYFAT_FAMILIES",
                                     "comma-separated model families (empty: DEFAULT_FAMILIES in `core/families.py`)")
    storage: str | None = knob(
        None, "OPTUNA_STORAGE", "Optuna storage URL: studies persist and resume (required in production; "
        "embedded default: in memory)")

    def tuning_config(self, n_trials: int | None = None, timeout_s: float | None = None,
                      families: Sequence[str] | None = None) -> TuningConfig:
        """The study's configuration: these knobs, unless a run overrides trials, timeout or families (empty: kept)."""
        from bodyfat_assets.core.tuning import TuningConfig  # here: Optuna loads only for a process that tunes

        return TuningConfig(n_trials=n_trials or self.n_trials, timeout_s=timeout_s or self.timeout_s,
                            cv_folds=self.cv_folds, seed=self.seed, families=tuple(families or self.families),
                            storage=self.storage)

    @field_validator("timeout_s")
    @classmethod
    def _zero_is_no_limit(cls, value: float | None) -> float | None:
        return value or None

    @field_validator("families", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return tuple(v.strip() for v in value.split(",") if v.strip()) if isinstance(value, str) else value


class DataSettings(Group):
    seed_dataset: Path = knob(BODYFAT_CSV, "BODYFAT_SEED_DATASET",
                              "the seed CSV: raw_bodyfat's first partition `seed`, whose test rows are the trusted "
                              "holdout (another dataset: docs/adapting.md)")
    test_fraction: float = knob(0.2, "BODYFAT_TEST_FRACTION", "share of rows in the test split", gt=0, lt=1)
    split_seed: int = knob(42, "BODYFAT_SPLIT_SEED", "seed of the train/test split")
    allow_density: bool = knob(False, "BODYFAT_ALLOW_DENSITY", "let models use Density (experiments only; "
                               "the `density_not_a_feature` check blocks it otherwise)")

    @field_validator("seed_dataset")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()  # the code server and run workers need not share the caller's working directory


class PromotionSettings(Group):
    margin: float = knob(0.0, "BODYFAT_PROMOTION_MARGIN",
                         "RMSE points (% body fat) a challenger must win by to become champion", ge=0)
    rmse_ceiling: float = knob(6.0, "BODYFAT_RMSE_CEILING", "blocking check: test RMSE above this fails", gt=0)
    baseline_tolerance: float = knob(0.10, "BODYFAT_BASELINE_TOLERANCE",
                                     "blocking check: a model this fraction worse than a ridge baseline fails", ge=0)


class LandingSettings(Group):
    prefix: str = knob("landing", "BODYFAT_LANDING_PREFIX",
                       "lake folder where files arrive (`train/`, `score/`) and leave (`processed/`, `rejected/`)")
    sensors: Literal["running", "stopped"] = knob(
        ENVIRONMENT_DEFAULTS["BODYFAT_SENSORS"][0], "BODYFAT_SENSORS",
        per_environment("BODYFAT_SENSORS", "sensors' default status"))
    sensor_interval_s: int = knob(30, "BODYFAT_SENSOR_INTERVAL_S", "how often the sensors look (seconds)", ge=1)
    retrain_min_rows: int = knob(50, "BODYFAT_RETRAIN_MIN_ROWS", "new ingested rows that justify a retrain", ge=1)
    retrain_min_interval_s: int = knob(
        ENVIRONMENT_DEFAULTS["BODYFAT_RETRAIN_MIN_INTERVAL_S"][0], "BODYFAT_RETRAIN_MIN_INTERVAL_S",
        per_environment("BODYFAT_RETRAIN_MIN_INTERVAL_S", "at least this long between two retraining runs, in "
                        "seconds; embedded the demo shows the loop at demo speed"), ge=0)
    requeue_max: int = knob(4, "BODYFAT_REQUEUE_MAX", "times the landing sensor asks again for the run of a file "
                            "whose run failed for a reason outside it, before rejecting it as run_failed", ge=0)
    requeue_wait_s: float = knob(60, "BODYFAT_REQUEUE_WAIT_S", "seconds before the first request again; doubled "
                                 "for each next one (60: 15 min in all, past the slowest code-server start seen)", gt=0)

    @field_validator("prefix")
    @classmethod
    def _bare_prefix(cls, value: str) -> str:
        return value.strip("/") or "landing"

    @property
    def sensors_running(self) -> bool:
        return self.sensors == "running"

    def requeue_policy(self) -> RequeuePolicy:
        return RequeuePolicy(self.requeue_max, self.requeue_wait_s)


class ScoringSettings(Group):
    """How scoring files are scored (core/scoring/, docs/scoring.md)."""

    batch_rows: int = knob(100_000, "BODYFAT_SCORING_BATCH_ROWS",
                           "rows per read batch and output row group when scoring a file (bounds the run's memory)",
                           ge=1_000)
    rescore_window_days: float = knob(7, "BODYFAT_RESCORE_WINDOW_DAYS",
                                      "a new champion re-scores the files first scored within this many days "
                                      "(0: every file)", ge=0)


class HealthSettings(Group):
    """How the platform watches its model: drift thresholds, retrain evidence, freshness (core/health/)."""

    drift_psi: float = knob(0.2, "BODYFAT_DRIFT_PSI", "a feature drifts at this PSI (and above sampling noise)", gt=0)
    drift_p_value: float = knob(0.01, "BODYFAT_DRIFT_P_VALUE", "...or at a KS p-value below this", gt=0, lt=1)
    drift_ks: float = knob(0.1, "BODYFAT_DRIFT_KS", "...together with a KS statistic of at least this", ge=0, le=1)
    drift_min_features: int = knob(3, "BODYFAT_DRIFT_MIN_FEATURES", "drifted features that justify a retrain", ge=1)
    live_rmse_ratio: float = knob(1.25, "BODYFAT_LIVE_RMSE_RATIO",
                                  "retrain when live RMSE on new labels exceeds champion test RMSE times this", gt=1)
    live_coverage_floor: float = knob(0.75, "BODYFAT_LIVE_COVERAGE_FLOOR",
                                      "retrain when live 90 % coverage falls below this (on 30+ rows)", gt=0, lt=1)
    suspect_outside_share: float = knob(0.40, "BODYFAT_SUSPECT_LABEL_SHARE",
                                        "labels are suspect when this share falls outside the champion's 90 % "
                                        "interval, features do not drift and labels do not follow predictions",
                                        gt=0.1, lt=1)
    served_min_labels: int = knob(30, "BODYFAT_SERVED_MIN_LABELS",
                                  "labeled served rows with a shadow prediction before `champion` reports the served "
                                  "model and its shadow on them", ge=1)
    champion_fresh_hours: float = knob(168, "BODYFAT_CHAMPION_FRESH_HOURS",
                                       "the Dagster UI marks `champion` stale after this long without a decision", gt=0)
    predictions_fresh_hours: float = knob(48, "BODYFAT_PREDICTIONS_FRESH_HOURS",
                                          "...and `batch_predictions` after this long without scoring", gt=0)

    def drift_thresholds(self) -> DriftThresholds:
        return DriftThresholds(psi=self.drift_psi, p_value=self.drift_p_value, ks=self.drift_ks,
                               min_drifted=self.drift_min_features)

    def evidence_policy(self) -> EvidencePolicy:
        return EvidencePolicy(rmse_ratio=self.live_rmse_ratio, coverage_floor=self.live_coverage_floor,
                              min_drifted_features=self.drift_min_features,
                              suspect_outside_share=self.suspect_outside_share)


@dataclass(frozen=True)
class TrackingConfig:
    """Where MLflow tracks and registers, derived from the settings (`Settings.tracking_config`)."""

    tracking_uri: str
    experiment_name: str
    model_name: str
    artifact_location: str | None = None
    ui_url: str | None = None
    """Where people open the MLflow UI, for links to runs."""


class ServiceSettings(Group):
    """Where the deployed services listen and what they are called: docker-compose.yml, `make stack`, `make demo`."""

    postgres_user: str = knob("postgres", "POSTGRES_USER", "PostgreSQL user of the three databases")
    postgres_password: str = Field("", validation_alias="POSTGRES_PASSWORD", repr=False,
                                   description="PostgreSQL password (a secret: empty means trust auth locally)")
    postgres_host: str = knob("127.0.0.1", "POSTGRES_HOST", "PostgreSQL host for `make stack` (compose: `postgres`)")
    postgres_port: int = knob(5432, "POSTGRES_PORT", "PostgreSQL port")
    dagster_db: str = knob("dagster", "DAGSTER_PG_DB", "database of the Dagster instance")
    mlflow_db: str = knob("mlflow", "MLFLOW_PG_DB", "database of the MLflow tracking server")
    optuna_db: str = knob("optuna", "OPTUNA_PG_DB", "database of the Optuna studies")
    minio_user: str | None = Field(None, validation_alias="MINIO_ROOT_USER", repr=False,
                                   description="S3 access key (a secret; `make stack` generates one if empty)")
    minio_password: str | None = Field(None, validation_alias="MINIO_ROOT_PASSWORD", repr=False,
                                       description="S3 secret key (a secret; at least 8 characters for MinIO)")
    minio_port: int = knob(9000, "MINIO_PORT", "S3 API port (MinIO, or moto under `make stack`)")
    minio_console_port: int = knob(9001, "MINIO_CONSOLE_PORT", "MinIO console port")
    aws_region: str = knob("us-east-1", "AWS_DEFAULT_REGION", "S3 region")
    mlflow_bucket: str = knob("bodyfat-mlflow", "MLFLOW_BUCKET", "bucket of MLflow's artifacts",
                              pattern=r"^[a-z0-9][a-z0-9.-]{2,62}$")
    mlflow_port: int = knob(5000, "MLFLOW_PORT", "MLflow server port")
    webserver_port: int = knob(3000, "DAGSTER_WEBSERVER_PORT", "Dagster UI port")
    grpc_port: int = knob(4000, "DAGSTER_GRPC_PORT", "Dagster code server port")
    api_port: int = knob(8000, "API_PORT", "prediction API port")
    redis_port: int = knob(6379, "REDIS_PORT", "Redis port: the Celery broker and result backend of compose's "
                           "`workers` profile")
    dagster_instance_yaml: str = knob("docker/dagster.yaml", "DAGSTER_INSTANCE_YAML",
                                      "the instance config compose mounts into every Dagster service "
                                      "(docker/dagster.celery.yaml with the `workers` profile)")
    dagster_ui_url: str | None = knob(None, "DAGSTER_UI_URL", "Dagster UI address in links from MLflow runs "
                                      "(empty: http://127.0.0.1:<DAGSTER_WEBSERVER_PORT>)")
    mlflow_ui_url: str | None = knob(None, "MLFLOW_UI_URL", "MLflow UI address in links from Dagster metadata "
                                     "(empty: MLFLOW_TRACKING_URI when http, else http://127.0.0.1:<MLFLOW_PORT>)")


class DemoSettings(Group):
    no_ui: bool = knob(False, "BODYFAT_NO_UI", "`make demo` stops after the report instead of serving the UI and API")
    dagster_home: Path | None = knob(None, "DAGSTER_HOME",
                                     "Dagster instance folder for `make demo` (default: `<BODYFAT_HOME>/dagster`)")


_VARIABLES: ContextVar[Mapping[str, str] | None] = ContextVar("bodyfat_settings_variables", default=None)
"""The variables `Settings.from_env` was given; None: the process environment."""


class _DeclaredVariables(PydanticBaseSettingsSource):
    """The variables the model declares, from the process environment or the mapping `from_env` was given."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every declared variable at once

    def __call__(self) -> dict[str, Any]:
        given = _VARIABLES.get()
        return _declared(os.environ if given is None else given)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    env: Literal["embedded", "production"] = knob(
        "embedded", "BODYFAT_ENV", "`embedded`: everything under BODYFAT_HOME; `production`: the services below")
    home: Path = knob(PROJECT_ROOT / ".bodyfat", "BODYFAT_HOME", "state folder (embedded lake, MLflow, Dagster)")
    bucket: str | None = knob(None, "BODYFAT_BUCKET", "production: the lake's bucket (required)")
    lake_prefix: str = knob("lake", "BODYFAT_LAKE_PREFIX", "production: the lake's folder in the bucket")
    s3_endpoint_url: str | None = knob(None, "S3_ENDPOINT_URL", "production: S3 endpoint (MinIO); empty: AWS")
    mlflow_server_uri: str | None = knob(
        None, "MLFLOW_TRACKING_URI",
        "production: the MLflow server (required); embedded tracks into `<BODYFAT_HOME>/mlflow.db`")
    model_name: str = knob("bodyfat", "BODYFAT_MODEL_NAME", "registered model name (shared with the API)", min_length=1)
    experiment_name: str = knob("bodyfat", "BODYFAT_EXPERIMENT", "MLflow experiment", min_length=1)
    data: DataSettings = Field(default_factory=DataSettings)
    tuning: TuningSettings = Field(default_factory=TuningSettings)
    promotion: PromotionSettings = Field(default_factory=PromotionSettings)
    landing: LandingSettings = Field(default_factory=LandingSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    services: ServiceSettings = Field(default_factory=ServiceSettings)
    demo: DemoSettings = Field(default_factory=DemoSettings)

    PRODUCTION_REQUIRES: ClassVar[dict[str, str]] = {
        "bucket": "BODYFAT_BUCKET", "mlflow_server_uri": "MLFLOW_TRACKING_URI", "tuning.storage": "OPTUNA_STORAGE"}

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # One source: the declared variables, by their own names (groups included), instead of pydantic-settings'
        # per-field lookup, which knows nothing of variables that belong to a group.
        return (init_settings, _DeclaredVariables(settings_cls))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, dotenv_files: Sequence[Path] = ()) -> Settings:
        """Settings from `env` (default: the process environment), over the dotenv files (a later file wins)."""
        values: dict[str, str] = {}
        for path in dotenv_files:
            if path.exists():
                values.update(read_dotenv(path))
        values.update(os.environ if env is None else env)
        token = _VARIABLES.set(values)
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError(_explain(exc)) from None
        finally:
            _VARIABLES.reset(token)

    @model_validator(mode="before")
    @classmethod
    def _route_to_groups(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        flat = dict(data)
        embedded = str(flat.get("BODYFAT_ENV", "embedded")).strip() == "embedded"
        for variable, (embedded_default, production_default) in ENVIRONMENT_DEFAULTS.items():
            flat.setdefault(variable, embedded_default if embedded else production_default)
        return {**flat, **{name: data.get(name, flat) for name, _ in _groups(cls)}}

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    @field_validator("lake_prefix")
    @classmethod
    def _bare_lake_prefix(cls, value: str) -> str:
        return value.strip("/")

    @model_validator(mode="after")
    def _production_needs_its_services(self) -> Settings:
        if self.is_production:
            for field, variable in self.PRODUCTION_REQUIRES.items():
                if not attrgetter(field)(self):
                    raise ValueError(f"{variable} must be set when BODYFAT_ENV=production")
        return self

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def lake_url(self) -> str:
        return f"s3://{self.bucket}/{self.lake_prefix}" if self.is_production else str(self.home / "lake")

    @property
    def mlflow_tracking_uri(self) -> str:
        return str(self.mlflow_server_uri) if self.is_production else f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def mlflow_artifact_location(self) -> str | None:
        """Embedded: local artifacts beside the SQLite store; production: the server proxies them (None)."""
        return None if self.is_production else (self.home / "mlartifacts").as_uri()

    @property
    def lake(self) -> Lake:
        """The lake every process uses: its stores and its key layout."""
        return Lake(url=self.lake_url, s3_endpoint_url=self.s3_endpoint_url, landing_prefix=self.landing.prefix)

    def tracking_config(self) -> TrackingConfig:
        return TrackingConfig(self.mlflow_tracking_uri, self.experiment_name, self.model_name,
                              self.mlflow_artifact_location, self.mlflow_ui)

    @property
    def dagster_home(self) -> Path:
        return self.demo.dagster_home or self.home / "dagster"

    @property
    def dagster_ui(self) -> str:
        """Where people open the Dagster UI (links from MLflow runs)."""
        return (self.services.dagster_ui_url or f"http://127.0.0.1:{self.services.webserver_port}").rstrip("/")

    @property
    def mlflow_ui(self) -> str:
        """Where people open the MLflow UI (links from Dagster metadata); `make demo` serves it on MLFLOW_PORT."""
        tracking = self.mlflow_tracking_uri
        default = tracking if tracking.startswith(("http://", "https://")) else (
            f"http://127.0.0.1:{self.services.mlflow_port}")
        return (self.services.mlflow_ui_url or default).rstrip("/")


def _as_variable(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def env_name(info: FieldInfo) -> str:
    alias = info.validation_alias
    return alias.choices[0] if isinstance(alias, AliasChoices) else str(alias)  # type: ignore[return-value]


def _groups(model: type[BaseModel]) -> Iterator[tuple[str, type[Group]]]:
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, Group):
            yield name, info.annotation


def _knob_fields(model: type[BaseModel] = Settings) -> Iterator[FieldInfo]:
    """Every knob's field, groups included, in declaration order."""
    groups = dict(_groups(model))
    for name, info in model.model_fields.items():
        yield from _knob_fields(groups[name]) if name in groups else (info,)


def knobs() -> Iterator[tuple[str, FieldInfo]]:
    """(variable, field) for every knob."""
    return ((env_name(info), info) for info in _knob_fields())


def variable_names() -> list[str]:
    return [name for name, _ in knobs()]


def _accepted_names() -> Iterator[str]:
    """Every variable name the model reads, older names included."""
    for info in _knob_fields():
        alias = info.validation_alias
        yield from (str(c) for c in alias.choices) if isinstance(alias, AliasChoices) else (str(alias),)


def _declared(environ: Mapping[str, str]) -> dict[str, str]:
    """The declared variables that are set. Empty counts as unset: docker-compose turns `${VAR:-}` into ''."""
    return {name: environ[name] for name in _accepted_names() if environ.get(name, "").strip()}


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        variable = next((str(part) for part in reversed(error["loc"]) if str(part).isupper()), None)
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{variable}={error['input']!r}: {message}" if variable else message)
    return "; ".join(problems)


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a dotenv file: `KEY=VALUE` lines; comments, blank lines, `export ` and surrounding quotes ignored."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def process_environment(**overrides: str) -> dict[str, str]:
    """The environment a child process inherits, with `overrides`: children read their own configuration."""
    return {**os.environ, **overrides}


@contextmanager
def variable_kept(name: str) -> Iterator[None]:
    """Restore variable `name` after a library call that may unset it (mlflow 3.17's scoped tracking URI unsets
    MLFLOW_TRACKING_URI on leaving when its global URI was None): this module is the environment's one owner."""
    saved = os.environ.get(name)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def variable_table() -> str:
    """docs/configuration.md's table: every variable, its default and meaning, from the declarations above."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, info in knobs():
        default = info.get_default(call_default_factory=True)
        shown = "none" if default in (None, (), "") else _as_variable(default).replace(str(PROJECT_ROOT), ".")
        rows.append(f"| `{name}` | {shown} | {info.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(variable_table())
