"""Loading a model: from the MLflow registry or the bundled fallback, checked against the model contract."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import sklearn
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME
from bodyfat_contract.registry import is_missing_alias

from serving.folding import fold_model
from serving.population import Population, population_from_card

log = logging.getLogger("serving.model_store")
Source = Literal["registry", "fallback"]
METRIC_KEYS = ("test_rmse", "test_mae", "test_r2")
MAX_EXAMPLE_ROWS = 64
T = TypeVar("T")

# Models are fitted on DataFrames but served numpy rows (3x cheaper for one row); the columns are put in the
# model's own feature order, so sklearn's "X does not have valid feature names" warning carries no information.
warnings.filterwarnings("ignore", message="X does not have valid feature names")


class ModelError(RuntimeError):
    """A model could not be loaded or does not honour the model contract."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    source: Source
    estimator: Any
    features: tuple[str, ...]
    half_width: float
    alias: str | None = None
    run_id: str | None = None
    family: str | None = None
    trained_at: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    # Set for pipelines that select columns by name (e.g. a ColumnTransformer): they need a DataFrame, not numpy.
    needs_frame: bool = False
    # The model as plain numpy arithmetic (`fold_model`), checked against scikit-learn at load time; None when the
    # model contains a step `fold_model` does not know.
    folded: Callable[[np.ndarray], np.ndarray] | None = None
    # The card's training_profile: quantile edges per feature and for the target (monitoring bins).
    profile: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # The card's training_population: rows farther from it than any training row get a warning beside the estimate.
    population: Population | None = field(default=None, compare=False, repr=False)
    # The model's input example (MLflow's `input_example.json`) as rows in `features` order: its warm-up batch.
    example: np.ndarray | None = field(default=None, compare=False, repr=False)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Predict rows whose columns are `self.features`, in that order."""
        if self.folded is not None:
            # sklearn's per-call input validation costs ~20x the arithmetic for one row, at every pipeline step.
            return self.folded(rows)
        if self.needs_frame:
            import pandas as pd

            rows = pd.DataFrame(rows, columns=list(self.features))
        # Inputs were validated as finite by the API: skip sklearn's second finiteness scan.
        with sklearn.config_context(assume_finite=True):
            return np.asarray(self.estimator.predict(rows), dtype=np.float64)


def _probe_rows(features: tuple[str, ...], n: int = 64) -> np.ndarray:
    """Deterministic rows spread over the schema ranges, for checking a model before it is served."""
    low = np.array([FEATURES_BY_NAME[f].low for f in features])
    high = np.array([FEATURES_BY_NAME[f].high for f in features])
    return low + np.random.default_rng(0).random((n, len(features))) * (high - low)


def from_card(
    estimator: Any, card: Mapping[str, Any], fold: bool = True, **identity: Any
) -> LoadedModel:
    """Build a LoadedModel from a model card (the MLmodel metadata), checking the contract and a smoke prediction."""
    try:
        features = tuple(card["features"])
        half_width = float(card["interval_half_width_90"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"model card lacks a valid 'features' / 'interval_half_width_90': {exc}") from exc
    unknown = [f for f in features if f not in FEATURE_NAMES]
    if unknown or not features:
        raise ModelError(f"model features {unknown or features} are not servable features {FEATURE_NAMES}")
    model = LoadedModel(
        estimator=estimator,
        features=features,
        half_width=half_width,
        family=card.get("family"),
        trained_at=card.get("trained_at"),
        metrics={k: float(card[k]) for k in METRIC_KEYS if card.get(k) is not None},
        profile={str(k): tuple(float(v) for v in edges) for k, edges in (card.get("training_profile") or {}).items()},
        population=population_from_card(card, features),
        **{"run_id": card.get("run_id"), **identity},
    )
    # A model that cannot predict one plausible row must never replace one that can. Try the fast numpy path
    # first, then a named DataFrame; keep whichever works, and check they agree.
    midpoint = np.array([[(FEATURES_BY_NAME[f].low + FEATURES_BY_NAME[f].high) / 2 for f in features]])
    try:
        framed = replace(model, needs_frame=True)
        reference = framed.predict(midpoint)
    except Exception as exc:  # any failure here means the model is unusable
        raise ModelError(f"smoke prediction failed: {exc!r}") from exc
    try:
        prediction = model.predict(midpoint)
        if not np.allclose(prediction, reference, equal_nan=True):
            raise ModelError(f"numpy and DataFrame predictions differ: {prediction} vs {reference}")
    except Exception as exc:  # the model only works with named columns: serve it that way
        log.warning("model %s needs DataFrame input (slower): %r", identity.get("version"), exc)
        model, prediction = framed, reference
    if fold and not model.needs_frame:
        folded = fold_model(estimator)
        if folded is not None:
            probe = _probe_rows(features)
            candidate = replace(model, folded=folded)
            try:
                agrees = np.allclose(candidate.predict(probe), model.predict(probe), rtol=1e-9, atol=1e-9)
            except Exception:  # a fold that cannot evaluate the probe is simply not used
                log.warning("folded model %s failed on probe rows; serving scikit-learn", identity.get("version"))
                agrees = False
            if agrees:
                model = candidate
    if prediction.shape != (1,) or not np.isfinite(prediction).all():
        raise ModelError(f"smoke prediction returned {prediction!r}")
    return model


def load_fallback(directory: Path, fold: bool = True) -> LoadedModel:
    import skops.io as sio

    card = json.loads((directory / "card.json").read_text())
    model_path = directory / "model.skops"
    # Trust exactly what the file needs, and only if that is sklearn/numpy: a tampered file is refused.
    untrusted = sio.get_untrusted_types(file=model_path)
    if any(not t.startswith(("sklearn.", "numpy.")) for t in untrusted):
        raise ModelError(f"fallback model needs untrusted types {untrusted}")
    estimator = sio.load(model_path, trusted=untrusted)
    return from_card(estimator, card, fold=fold, name="fallback", version="fallback", source="fallback")


class ModelSource(Protocol):
    """Where champions come from. `champion_version` returns None when there is no champion yet and raises when
    the registry cannot be asked."""

    def champion_version(self) -> str | None: ...

    def load(self, version: str) -> LoadedModel: ...


class RegistryTimeout(TimeoutError):
    """A registry call overran the serving timeout: the registry counts as unavailable for this poll."""


class RegistryDeadline:
    """Runs each registry call in a daemon thread and waits at most `timeout_s` for it, whatever the store.

    MLflow's HTTP timeout bounds only REST calls: a SQLite store locked by a writer waits out its 20 s busy timeout
    (MLflow sets `PRAGMA busy_timeout = 20000`). Hand-made rather than a ThreadPoolExecutor because its workers are
    joined at interpreter exit, so a call stuck in a locked store would hold up shutdown. While an overrun call is
    still running the next one is refused at once, so at most one thread is ever stuck.
    """

    def __init__(self, timeout_s: float, max_retries: int = 0) -> None:
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self._running: threading.Thread | None = None

    def __call__(self, call: Callable[[], T]) -> T:
        if self._running is not None and self._running.is_alive():
            raise RegistryTimeout(f"a registry call started earlier is still running after {self.timeout_s:g} s")
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                with mlflow_http_limits(self.timeout_s, self.max_retries):
                    outcome["value"] = call()
            except BaseException as exc:  # handed to the waiting caller, or dropped if it gave up
                outcome["error"] = exc

        self._running = threading.Thread(target=run, name="registry-call", daemon=True)
        self._running.start()
        self._running.join(self.timeout_s)
        if self._running.is_alive():
            raise RegistryTimeout(f"registry call overran {self.timeout_s:g} s")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]


HTTP_LIMITS = ("MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")


@contextmanager
def mlflow_http_limits(timeout_s: float, max_retries: int = 0) -> Iterator[None]:
    """MLflow's HTTP timeout and retries for the duration of one registry call, then the environment as it was.

    MLflow 3.17.2 reads them only from `os.environ` (`mlflow.environment_variables`; `MlflowClient` passes none to
    `rest_utils.http_request`), so there is no other way; its defaults retry an unreachable server for minutes.
    Values the operator set win. Calls never overlap (`RegistryDeadline` runs one at a time).
    """
    wanted = dict(zip(HTTP_LIMITS, (str(int(max(1, timeout_s))), str(max_retries)), strict=True))
    added = [name for name in HTTP_LIMITS if name not in os.environ]
    os.environ.update({name: wanted[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


class MlflowSource:
    """The MLflow model registry, through the skinny client only. Every registry call is bounded by `timeout_s`."""

    def __init__(
        self, name: str, alias: str, tracking_uri: str | None, timeout_s: float, max_retries: int, fold: bool = True
    ) -> None:
        from mlflow import MlflowClient

        self.name, self.alias, self.fold, self.tracking_uri = name, alias, fold, tracking_uri
        self._bounded = RegistryDeadline(timeout_s, max_retries)
        self._client_class = MlflowClient
        self._built: Any = None

    def _client(self) -> Any:
        """The MLflow client, built by the first registry call, inside its deadline, and kept once built.

        Building it opens the tracking store: a SQLite registry's tables are read (an empty one is migrated), and a
        database locked by a writer held a freshly started API for 9.1 s before /ready, then left it on the fallback
        for good. Built here, it costs one cut call and is tried again at the next poll."""
        if self._built is None:
            self._built = self._client_class(tracking_uri=self.tracking_uri)
        return self._built

    def champion_version(self) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self._bounded(lambda: self._client().get_model_version_by_alias(self.name, self.alias)).version)
        except MlflowException as exc:
            if is_missing_alias(exc):  # the registry answered: there is simply no champion yet
                return None
            raise

    def load(self, version: str) -> LoadedModel:
        import mlflow.artifacts
        import mlflow.models
        import mlflow.sklearn

        # Pin the version, not the alias: the alias may move between resolving it and downloading. Download once
        # into a directory removed right after loading: `get_model_info` + `load_model` on the URI left two
        # temporary directories behind per load. A download cut by the deadline may still be writing: its
        # directory's removal then ignores errors.
        with tempfile.TemporaryDirectory(prefix="bodyfat-model-", ignore_cleanup_errors=True) as tmp:
            local = self._bounded(lambda: mlflow.artifacts.download_artifacts(
                artifact_uri=f"models:/{self.name}/{version}", dst_path=tmp, tracking_uri=self.tracking_uri,
                registry_uri=self.tracking_uri,
            ))  # fmt: skip
            logged = mlflow.models.Model.load(local)
            card = logged.metadata or {}
            estimator = mlflow.sklearn.load_model(local)
            example = _input_example(Path(local), logged.saved_input_example_info)
        run_id = self._bounded(lambda: self._client().get_model_version(self.name, version)).run_id
        model = from_card(
            estimator, {"run_id": run_id, **card}, fold=self.fold, name=self.name, version=version, alias=self.alias,
            source="registry",
        )
        return replace(model, example=example_rows(example, model.features))


def _input_example(directory: Path, info: Mapping[str, Any] | None) -> Any:
    """The logged input example's JSON (None without one), read as a file: MLflow's loader needs pandas."""
    path = directory / str((info or {}).get("artifact_path") or "input_example.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def example_rows(example: Any, features: Sequence[str]) -> np.ndarray | None:
    """Rows in `features` order from an MLflow input example (`input_example.json`: pandas' split orient
    `{"columns", "data"}`, or a list of records), at most MAX_EXAMPLE_ROWS; None if it does not hold every feature
    as numbers."""
    try:
        if isinstance(example, dict) and "columns" in example and "data" in example:
            records = [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]
        else:
            records = list(example)
        rows = np.array([[float(rec[name]) for name in features] for rec in records[:MAX_EXAMPLE_ROWS]])
    except (KeyError, TypeError, ValueError):
        return None
    if rows.ndim != 2 or rows.shape[0] == 0 or not np.isfinite(rows).all():
        return None
    return rows
