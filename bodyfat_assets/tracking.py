"""MLflow wiring without Dagster: experiment setup, one nested run per Optuna trial, model logging with the
model card, registry aliases. The Dagster resource in `resources.py` only builds a `Tracker`, from the
`TrackingConfig` the settings derive (`Settings.tracking_config`).

A `Tracker` talks to its server through one `MlflowClient`. The process-wide ("fluent") tracking URI is set only
around the one call that has no client or URI parameter, `mlflow.sklearn.log_model`, and restored after it, so two
trackers (a test's and the pipeline's, or a registry that moved) never redirect each other's writes."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import optuna
import pandas as pd
import skops.io
from bodyfat_contract.registry import CHALLENGER, CHAMPION, is_missing_alias
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.entities import Metric, Param, Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model, infer_signature
from mlflow.tracking._tracking_service.utils import _use_tracking_uri
from mlflow.tracking.context.registry import resolve_tags
from sklearn.pipeline import Pipeline

from bodyfat_assets.core.evaluation import coverage_metrics
from bodyfat_assets.core.promotion import ChampionDecision, GateFinding, blocked_decision, decide_champion
from bodyfat_assets.core.training import TrainedChallenger
from bodyfat_assets.core.tuning import best_completed_value, trial_outcome
from bodyfat_assets.settings import TrackingConfig, variable_kept

FINGERPRINT_TAG = "training_fingerprint"
log = logging.getLogger(__name__)

# What a process needs to load the model: explicit, because the inferred list picks up test tools.
MODEL_REQUIREMENTS = ("scikit-learn", "skops", "numpy", "scipy", "pandas", "joblib", "mlflow-skinny")


def model_pip_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in MODEL_REQUIREMENTS]


ML_VIEW_QUERY = "workflowType=machine_learning"
"""MLflow 3's UI opens an experiment in its GenAI view (Traces, an assistant panel) with the runs behind a "Model
training" toggle; its experiment page takes the view from this query parameter first (MLflow 3.17.2's UI bundle:
`workflowType`, `genai` or `machine_learning`, else the browser's last choice)."""


def experiment_runs_url(ui_url: str, experiment_id: str) -> str:
    """The experiment's runs table in the MLflow UI, in the classic ML view."""
    return f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{ML_VIEW_QUERY}"


def registered_model_url(ui_url: str, model_name: str) -> str:
    """The registered model's page (versions, aliases) in the MLflow UI."""
    return f"{ui_url.rstrip('/')}/#/models/{model_name}"


DAGSTER_RUN_URL_TAG = "dagster/run_url"
"""MLflow run tag: the Dagster run that made it, as a URL into the Dagster UI."""


MLFLOW_TRACKING_URI_VARIABLE = "MLFLOW_TRACKING_URI"


@contextmanager
def _tracking_uri_for_the_call(uri: str) -> Iterator[None]:
    """MLflow's `_use_tracking_uri`, keeping MLFLOW_TRACKING_URI: on leaving, mlflow 3.17 restores its global URI
    and, when that was None, unsets the variable, so the next run in the same process lost its settings."""
    with variable_kept(MLFLOW_TRACKING_URI_VARIABLE), _use_tracking_uri(uri):
        yield


LOGGED_MODEL_URI = "models:/"
"""A version's source in MLflow 3: `models:/<logged model id>`, which only the process-wide registry URI resolves."""


def files_location(client: MlflowClient, source: str) -> str:
    """Where a registered version's files are: MLflow 3 registers a logged model (`models:/<id>`), which only the
    process-wide registry URI resolves; its artifact location works with any client."""
    if source.startswith(LOGGED_MODEL_URI):
        return client.get_logged_model(source.removeprefix(LOGGED_MODEL_URI)).artifact_location
    return source


class Tracker:
    def __init__(self, config: TrackingConfig, run_tags: dict[str, str] | None = None) -> None:
        self.config = config
        self.run_tags = dict(run_tags or {})
        self.client = MlflowClient(config.tracking_uri)
        self.experiment_id = self._experiment_id()

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.config.experiment_name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(
                self.config.experiment_name, artifact_location=self.config.artifact_location
            )
        except MlflowException:  # created concurrently by another process
            return self.client.get_experiment_by_name(self.config.experiment_name).experiment_id

    def run_url(self, run_id: str) -> str | None:
        """The run's page in the MLflow UI, or None without a configured UI address."""
        ui = self.config.ui_url
        return f"{ui.rstrip('/')}/#/experiments/{self.experiment_id}/runs/{run_id}" if ui else None

    @contextmanager
    def parent_run(self, run_name: str) -> Iterator[Run]:
        """A run of this tracker's experiment, FINISHED when the block ends normally, FAILED when it raises."""
        # resolve_tags: the source, user and git tags `mlflow.start_run` adds, which a bare create_run leaves out.
        run = self.client.create_run(self.experiment_id, run_name=run_name, tags=resolve_tags(self.run_tags))
        status = "FAILED"
        try:
            yield run
            status = "FINISHED"
        finally:
            self.client.set_terminated(run.info.run_id, status)

    def trial_logger(self, parent_run_id: str, progress: Callable[[str], None], n_trials: int,
                     cv_folds: int | None = None) -> TrialLogger:
        return TrialLogger(self, parent_run_id, progress, n_trials, cv_folds)

    def log_figures(self, run_id: str, figures: dict[str, bytes]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, png in figures.items():
                (Path(tmp) / f"{name}.png").write_bytes(png)
            self.client.log_artifacts(run_id, tmp, artifact_path="figures")

    def log_model_version(self, model: Pipeline, X_example: pd.DataFrame, card: dict[str, Any],
                          run_id: str) -> ModelVersion:
        """Log the model into run `run_id` and register it; tag it and point `challenger` at it."""
        trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))  # our own pipeline's types
        # log_model resolves the process-wide tracking URI (mlflow 3.17 `Model.log`) and takes no client: point it
        # at this tracker only for the call. `_use_tracking_uri` is MLflow's own scoping helper; no public API has one.
        with _tracking_uri_for_the_call(self.config.tracking_uri):
            info = mlflow.sklearn.log_model(
                sk_model=model,
                name="model",
                run_id=run_id,
                serialization_format="skops",
                skops_trusted_types=trusted,
                signature=infer_signature(X_example, model.predict(X_example)),
                input_example=X_example.head(5),
                pip_requirements=model_pip_requirements(),
                metadata=card,
                registered_model_name=self.config.model_name,
            )
        mv = self.client.get_model_version(self.config.model_name, str(info.registered_model_version))
        for key in ("test_rmse", "test_mae", "test_r2", "family", "interval_half_width_90", "cv_rmse"):
            if key in card:
                self.client.set_model_version_tag(mv.name, mv.version, key, str(card[key]))
        self.client.set_registered_model_alias(mv.name, CHALLENGER, mv.version)
        return mv

    def version_by_alias(self, alias: str) -> ModelVersion | None:
        """The version `alias` points at; None only when the registry says the model or the alias does not exist.

        Any other registry error (a 5xx, a timeout, a locked store) propagates: "no champion" promotes a challenger
        without comparing it, so it must never be a guess.
        """
        try:
            return self.client.get_model_version_by_alias(self.config.model_name, alias)
        except MlflowException as exc:
            if is_missing_alias(exc):
                return None
            raise

    def model_uri(self, version: str) -> str:
        return f"models:/{self.config.model_name}/{version}"

    def _download(self, version: str, into: str, path: str = "") -> str:
        # By the version's own location, not its models:/ URI: MLflow resolves models:/ through the process-wide
        # registry URI only (mlflow 3.17 ModelsArtifactRepository), which this tracker leaves alone.
        location = files_location(self.client, self.client.get_model_version_download_uri(self.config.model_name,
                                                                                           version))
        uri = f"{location.rstrip('/')}/{path}" if path else location
        return download_artifacts(artifact_uri=uri, dst_path=into, tracking_uri=self.config.tracking_uri)

    def load_model(self, version: str) -> tuple[Pipeline, dict[str, Any]]:
        """The model and its card (MLmodel `metadata`), from one download of the version's artifacts."""
        with tempfile.TemporaryDirectory(prefix="bodyfat-model-") as tmp:
            local = self._download(version, tmp)
            return mlflow.sklearn.load_model(local), dict(Model.load(local).metadata or {})

    def model_card(self, version: str) -> dict[str, Any]:
        """The version's card alone: its MLmodel file, not the weights."""
        with tempfile.TemporaryDirectory(prefix="bodyfat-card-") as tmp:
            return dict(Model.load(self._download(version, tmp, "MLmodel")).metadata or {})

    def tag_version(self, version: str, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.config.model_name, version, key, str(value))

    def set_champion(self, version: str) -> None:
        self.client.set_registered_model_alias(self.config.model_name, CHAMPION, version)

    def log_challenger(self, trained: TrainedChallenger, run_id: str) -> tuple[ModelVersion, dict[str, Any], bool]:
        """Log a trained challenger into run `run_id` (params, metrics, figures, the model with its card) and
        register it as `challenger`. Returns the version, its card, and whether it was newly registered: a model
        identical to a registered version (same fingerprint) is not registered again; that version is reused."""
        result, metrics = trained.tuning, trained.metrics.as_dict()
        fingerprint = trained.fingerprint()
        self.client.set_tag(run_id, FINGERPRINT_TAG, fingerprint)
        existing = self.client.search_model_versions(
            f"name='{self.config.model_name}' and tags.{FINGERPRINT_TAG}='{fingerprint}'", max_results=1)
        if existing:
            version = existing[0]
            self.client.set_tag(run_id, "reused_model_version", version.version)
            self.client.set_registered_model_alias(version.name, CHALLENGER, version.version)
            return version, self.model_card(version.version), False
        params = {"family": result.best_family, "features": ",".join(trained.features),
                  "study": result.study.study_name, "n_trials": result.trials_this_run,
                  **{f"best_{k}": v for k, v in result.best_params.items()}}
        metrics_logged = {"cv_rmse": result.best_cv_rmse, **metrics, "interval_half_width_90": trained.half_width,
                          "test_interval_coverage_90": trained.coverage, **coverage_metrics(trained.coverage_by_bmi),
                          **{f"best_cv_rmse_{f}": v for f, v in result.best_by_family.items()}}
        now = int(time.time() * 1000)
        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()],
                              metrics=[Metric(k, float(v), now, 0) for k, v in metrics_logged.items()])
        self.log_figures(run_id, trained.figures)
        card = model_card(features=trained.features, family=result.best_family, params=result.best_params,
                          cv_rmse=result.best_cv_rmse, test_metrics=metrics, half_width=trained.half_width,
                          run_id=run_id, profile=trained.training_profile,
                          population=trained.training_population)
        version = self.log_model_version(result.model, trained.training_example, card, run_id)
        self.client.set_model_version_tag(version.name, version.version, FINGERPRINT_TAG, fingerprint)
        return version, card, True

    def record_decision(self, decision: ChampionDecision, tags: Mapping[str, str]) -> None:
        """Tag the challenger with the decision and its figures; move `champion` when the decision says so."""
        self.tag_version(decision.challenger_version, {
            "promotion_decision": decision.outcome, "promotion_reason": decision.reason,
            "challenger_test_rmse": round(decision.challenger_rmse, 4),
            "champion_test_rmse": "none" if decision.champion_rmse is None else round(decision.champion_rmse, 4),
            "challenger_holdout_rmse": _rounded(decision.challenger_holdout_rmse),
            "champion_holdout_rmse": _rounded(decision.champion_holdout_rmse),
            "compared_with_version": decision.previous_version or "none", **tags,
        })
        if decision.moves_alias:
            self.set_champion(decision.challenger_version)
        if decision.blocked:  # `challenger` names the candidate under review; a blocked one no longer is
            self.client.delete_registered_model_alias(self.config.model_name, CHALLENGER)


def _rounded(rmse: float | None) -> float | str:
    return "none" if rmse is None else round(rmse, 4)


def promote_challenger(tracker: Tracker, challenger_version: str, test_rmse: Callable[[str], float],
                       holdout_rmse: Callable[[str], float], margin: float, findings: Sequence[GateFinding] = (),
                       tags: Mapping[str, str] | None = None) -> ChampionDecision:
    """The `champion` step without Dagster: look up the champion, decide (blocked by a failed gate finding, or
    compared on the same test split and the trusted holdout), record the decision on the challenger and move
    `champion` if it won. A registry error while looking up the champion raises before anything is tagged or moved."""
    current = tracker.version_by_alias(CHAMPION)
    current_version = str(current.version) if current else None
    decision = (blocked_decision(challenger_version, current_version, findings)
                or decide_champion(challenger_version, current_version, test_rmse, holdout_rmse, margin))
    tracker.record_decision(decision, tags or {})
    return decision


class TrialLogger:
    """An Optuna callback: a progress line per finished trial, and one nested MLflow run per trial.

    The MLflow writes (three per trial) run on one background thread, so they overlap the next trial's CPU-bound
    cross-validation instead of adding to it. Use as a context manager: leaving waits for every write and raises
    the first error, so a tuning run never reports success with trials missing from MLflow.
    """

    def __init__(self, tracker: Tracker, parent_run_id: str, progress: Callable[[str], None], n_trials: int,
                 cv_folds: int | None = None) -> None:
        self.tracker, self.parent_run_id, self.progress, self.n_trials = tracker, parent_run_id, progress, n_trials
        self.cv_folds = cv_folds
        self.started = time.monotonic()
        self.done = 0
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlflow-trials")
        self.pending: list[Future] = []

    def __enter__(self) -> TrialLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
        for future in self.pending:
            future.result()

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        self.done += 1
        family = trial.params.get("family", "?")
        self.pending.append(self.pool.submit(self._log, study.study_name, trial))
        best = best_completed_value(study.trials)
        self.progress(f"trial {self.done}/{self.n_trials} (#{trial.number}) {family}: "
                      f"{trial_outcome(trial, self.cv_folds)}; best so far {best:.3f}; "
                      f"{time.monotonic() - self.started:.1f} s elapsed")

    def _log(self, study_name: str, trial: optuna.trial.FrozenTrial) -> None:
        client, family = self.tracker.client, trial.params.get("family", "?")
        run = client.create_run(
            self.tracker.experiment_id,
            run_name=f"trial-{trial.number:03d}-{family}",
            tags={**self.tracker.run_tags, "mlflow.parentRunId": self.parent_run_id, "family": family,
                  "optuna_study": study_name, "trial_state": trial.state.name, "trial_number": str(trial.number)},
        )
        now = int(time.time() * 1000)
        # A pruned trial's value covers only the folds it reached: not a cv_rmse.
        name = "cv_rmse" if trial.state == optuna.trial.TrialState.COMPLETE else "cv_rmse_partial"
        metrics = [Metric(name, float(trial.value), now, 0)] if trial.value is not None else []
        running = trial.intermediate_values.items()
        metrics += [Metric("cv_rmse_running", float(v), now, int(step)) for step, v in running]
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param(k, str(v)) for k, v in trial.params.items()])
        client.set_terminated(run.info.run_id, "FINISHED" if trial.value is not None else "KILLED")


def model_card(*, features: list[str], family: str, params: dict[str, Any], cv_rmse: float,
               test_metrics: dict[str, float], half_width: float, run_id: str,
               profile: dict[str, list[float]] | None = None,
               population: dict[str, object] | None = None) -> dict[str, Any]:
    """The metadata stored with the model (MLmodel `metadata`): everything serving needs besides the weights,
    including the training rows' profile (bodyfat_contract.training_profile) its monitoring bins with, and their
    population (bodyfat_contract.training_population) it flags impossible inputs with."""
    return {
        "training_profile": profile or {},
        "training_population": population or {},
        "features": list(features),
        "family": family,
        "params": {k: (v if isinstance(v, int | float | str) else str(v)) for k, v in params.items()},
        "cv_rmse": round(cv_rmse, 4),
        **{k: round(v, 4) for k, v in test_metrics.items()},
        "interval_half_width_90": round(half_width, 4),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
    }

