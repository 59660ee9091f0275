"""Model lifecycle: load the champion (or the bundled fallback), poll the alias, swap atomically.

Request handlers read `store.current` once and use that `LoadedModel` for the whole request. Loaded models are
immutable and a swap is a single attribute assignment, so in-flight requests finish on the model they started with.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import sklearn
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME

log = logging.getLogger("serving.model_store")
Source = Literal["registry", "fallback"]
METRIC_KEYS = ("test_rmse", "test_mae", "test_r2")
MAX_REJECT_BACKOFF_S = 3600.0

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


LINEAR_REGRESSORS = frozenset({"LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet",
                               "ElasticNetCV", "LassoLars", "Lars", "BayesianRidge", "ARDRegression"})  # fmt: skip


def _diff(x: np.ndarray, **kwargs: Any) -> np.ndarray:
    if kwargs:
        return np.diff(x, **kwargs)
    return x[:, 1:] - x[:, :-1]  # np.diff's default (n=1, last axis) without its ~5 µs of Python overhead


def _clip(x: np.ndarray, a_min: Any = None, a_max: Any = None) -> np.ndarray:
    # np.clip with one bound is np.maximum/np.minimum, at a fifth of the per-call cost for one row
    if a_max is None:
        return x if a_min is None else np.maximum(x, a_min)
    return np.minimum(x, a_max) if a_min is None else np.clip(x, a_min, a_max)


# What a FunctionTransformer may apply in a folded model (the functions core/features.py builds features from),
# with equivalent numpy arithmetic that is cheaper per call.
FOLDABLE_FUNCTIONS: dict[Any, Callable[..., np.ndarray]] = {np.log: np.log, np.diff: _diff, np.clip: _clip}
Array = np.ndarray
Step = Callable[[Array], Array]


class NotFoldable(Exception):
    """A step `fold_model` does not know: the model takes the ordinary scikit-learn path."""


@dataclass(frozen=True)
class Affine:
    """x ↦ x @ weights + intercept. Consecutive affine steps (scalers, column picks, linear models, averages of
    linear members) compose into one, so a log-linear ensemble costs one dot product besides its features."""

    weights: np.ndarray
    """(inputs, outputs), or (inputs,) for a final regressor."""
    intercept: np.ndarray | float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weights + self.intercept

    def then(self, after: Affine) -> Affine:
        return Affine(self.weights @ after.weights, self.intercept @ after.weights + after.intercept)


def fold_model(estimator: Any) -> Step | None:
    """The fitted model as numpy arithmetic, or None if it contains a step this does not know.

    Known: Pipeline, StandardScaler, FunctionTransformer of FOLDABLE_FUNCTIONS, ColumnTransformer over column
    positions, linear regressors, RBF SVR, and VotingRegressor over any of these. Exact up to float rounding; the
    caller verifies it against the pipeline before using it.
    """
    try:
        return _fold(estimator)
    except NotFoldable:
        return None


def _fold(step: Any) -> Step:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import VotingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.svm import SVR

    kind = type(step)
    if kind is Pipeline:
        return _fold_chain([s for _, s in step.steps if s is not None and not _is_passthrough(s)])
    if kind is StandardScaler:
        n = step.n_features_in_
        scale = step.scale_ if step.scale_ is not None else np.ones(n)
        mean = step.mean_ if step.mean_ is not None and step.with_mean else np.zeros(n)
        return Affine(np.diag(1.0 / scale), -mean / scale)
    if kind is FunctionTransformer:
        if step.func is None:
            return lambda x: x
        if step.func not in FOLDABLE_FUNCTIONS or step.validate:
            raise NotFoldable(f"function {step.func!r}")
        func, kwargs = FOLDABLE_FUNCTIONS[step.func], dict(step.kw_args or {})
        return (lambda x: func(x, **kwargs)) if kwargs else func
    if kind is ColumnTransformer:
        return _fold_columns(step)
    if type(step).__name__ in LINEAR_REGRESSORS and np.ndim(getattr(step, "coef_", None)) == 1:
        return Affine(np.asarray(step.coef_, dtype=np.float64), float(np.ravel(step.intercept_)[0]))
    if kind is SVR and step.kernel == "rbf":
        return _fold_rbf_svr(step)
    if kind is VotingRegressor:
        return _fold_average([_fold(member) for member in step.estimators_], step.weights)
    raise NotFoldable(kind.__name__)


def _is_passthrough(step: Any) -> bool:
    return isinstance(step, str) and step == "passthrough"


def _fold_chain(steps: list[Any]) -> Step:
    """Steps in order, adjacent affine steps composed into one."""
    folded: list[Step] = []
    for step in map(_fold, steps):
        if isinstance(step, Affine) and folded and isinstance(folded[-1], Affine):
            folded[-1] = folded[-1].then(step)
        else:
            folded.append(step)
    if len(folded) == 1:
        return folded[0]

    def chain(x: np.ndarray) -> np.ndarray:
        for f in folded:
            x = f(x)
        return x

    return chain


def _fold_rbf_svr(svr: Any) -> Step:
    support, gamma = np.asarray(svr.support_vectors_, dtype=np.float64), float(svr._gamma)
    dual, intercept = np.asarray(svr.dual_coef_[0], dtype=np.float64), float(svr.intercept_[0])
    support_norms, twice_support_t = np.square(support).sum(axis=1), 2.0 * support.T

    def rbf_svr(x: np.ndarray) -> np.ndarray:
        squared_distances = np.square(x).sum(axis=1)[:, None] + support_norms - x @ twice_support_t
        return np.exp(-gamma * np.maximum(squared_distances, 0.0)) @ dual + intercept

    return rbf_svr


def _fold_average(members: list[Step], weights: Any) -> Step:
    """A (weighted) mean of member predictions; the affine members' share collapses into one affine map."""
    shares = np.full(len(members), 1.0 / len(members)) if weights is None else np.asarray(weights) / np.sum(weights)
    affine = [(share, m) for share, m in zip(shares, members, strict=True) if isinstance(m, Affine)]
    others = [(float(share), m) for share, m in zip(shares, members, strict=True) if not isinstance(m, Affine)]
    linear = (Affine(sum(share * m.weights for share, m in affine), sum(share * m.intercept for share, m in affine))
              if affine else None)  # fmt: skip
    if not others:
        return linear

    def average(x: np.ndarray) -> np.ndarray:
        total = linear(x) if linear is not None else 0.0
        for share, member in others:
            total = total + share * member(x)
        return total

    return average


def _fold_columns(transformer: Any) -> Step:
    """A ColumnTransformer whose columns are positions: each part on its columns, side by side. Only column picks
    (passthrough) make it one selection matrix."""
    if getattr(transformer, "sparse_output_", False):
        raise NotFoldable("sparse ColumnTransformer output")
    parts: list[tuple[Step | None, np.ndarray]] = []
    for _, part, columns in transformer.transformers_:
        if isinstance(part, str) and part == "drop":
            continue
        positions = np.asarray(columns)
        if positions.dtype.kind not in "iu":  # names or a mask: the frame path handles those
            raise NotFoldable(f"columns {columns!r}")
        if positions.size:
            parts.append((None if _is_passthrough(part) else _fold(part), positions))
    if all(f is None for f, _ in parts):
        picked = np.concatenate([cols for _, cols in parts])
        selection = np.zeros((transformer.n_features_in_, len(picked)))
        selection[picked, np.arange(len(picked))] = 1.0
        return Affine(selection, np.zeros(len(picked)))
    folded = [(f if f is not None else (lambda x: x), _columns(cols)) for f, cols in parts]
    return lambda x: np.concatenate([f(x[:, cols]) for f, cols in folded], axis=1)


def _columns(positions: np.ndarray) -> slice | np.ndarray:
    """A slice (a view, no copy) when the positions are consecutive and increasing."""
    start = int(positions[0])
    if np.array_equal(positions, np.arange(start, start + len(positions))):
        return slice(start, start + len(positions))
    return positions


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


class MlflowSource:
    """The MLflow model registry, through the skinny client only."""

    def __init__(
        self, name: str, alias: str, tracking_uri: str | None, timeout_s: float, max_retries: int, fold: bool = True
    ) -> None:
        # MLflow reads these on every request; its defaults retry an unreachable server for minutes.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(max(1, timeout_s))))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(max_retries))
        import mlflow
        from mlflow import MlflowClient

        if tracking_uri:
            mlflow.set_tracking_uri(tracking_uri)
        self.name, self.alias, self.fold = name, alias, fold
        self._client = MlflowClient(tracking_uri=tracking_uri)

    def champion_version(self) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self._client.get_model_version_by_alias(self.name, self.alias).version)
        except MlflowException as exc:
            # Unknown model or alias: the registry answered, there is simply no champion yet.
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST" or "not found" in str(exc).lower():
                return None
            raise

    def load(self, version: str) -> LoadedModel:
        import mlflow.artifacts
        import mlflow.models
        import mlflow.sklearn

        # Pin the version, not the alias: the alias may move between resolving it and downloading. Download once
        # into a directory removed right after loading: `get_model_info` + `load_model` on the URI left two
        # temporary directories behind per load (issue 14, item 5).
        with tempfile.TemporaryDirectory(prefix="bodyfat-model-") as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{self.name}/{version}", dst_path=tmp)
            card = mlflow.models.Model.load(local).metadata or {}
            estimator = mlflow.sklearn.load_model(local)
        run_id = self._client.get_model_version(self.name, version).run_id
        return from_card(
            estimator, {"run_id": run_id, **card}, fold=self.fold, name=self.name, version=version, alias=self.alias,
            source="registry",
        )


@dataclass(frozen=True)
class RefreshOutcome:
    outcome: Literal["swapped", "unchanged", "no_champion", "rejected", "error"]
    version: str | None
    source: Source | None
    detail: str | None = None
    checked_at: float = field(default_factory=time.time)


ERROR_OUTCOMES = {"error": "registry_error", "rejected": "champion_rejected"}


def readiness(model: LoadedModel | None, last: RefreshOutcome | None) -> tuple[int, str, str]:
    """(HTTP status, status, reason) for /ready. A fallback by design (the registry has no champion yet, or none is
    configured) is ready; a fallback because the registry failed or refused its champion is `degraded` with 503,
    which takes the instance out of a load balancer's rotation while it still answers /predict (issue 13.5)."""
    if model is None:
        return 503, "not_ready", "no_model"
    if model.source == "registry":
        return 200, "ready", "champion"
    if last is not None and last.outcome in ERROR_OUTCOMES:
        return 503, "degraded", ERROR_OUTCOMES[last.outcome]
    if last is not None and last.outcome == "no_champion":
        return 200, "ready", "no_champion"
    return 200, "ready", "no_registry"


class ModelStore:
    def __init__(
        self,
        connect: Callable[[], ModelSource | None],
        fallback: Callable[[], LoadedModel],
        poll_interval_s: float,
        on_refresh: Callable[[RefreshOutcome], None] | None = None,
    ) -> None:
        """`connect` builds the registry client at `start()` (not at import or app creation, so a misconfigured
        registry costs only the registry, never the fallback)."""
        self._connect = connect
        self._source: ModelSource | None = None
        self._fallback = fallback
        self._poll_interval_s = poll_interval_s
        self._on_refresh = on_refresh
        self._current: LoadedModel | None = None
        # version -> (failed attempts, monotonic time of the next try): a champion that fails the model contract
        # is not downloaded again on every poll (issue 14, item 5).
        self._rejected: dict[str, tuple[int, float]] = {}
        self._connect_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_outcome: RefreshOutcome | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def start(self) -> None:
        """Load something servable now, then keep polling. Never raises: no model means /ready says 503."""
        try:
            self._source = self._connect()
        except Exception as exc:  # a misconfigured registry must still leave the fallback serving
            self._connect_error = type(exc).__name__
            log.exception("model registry client could not be created; serving the fallback only")
        self.refresh()
        if self._current is None:
            try:
                self._current = self._fallback()
                log.warning("serving the bundled fallback model until the registry has a champion")
            except Exception:  # a broken fallback must not crash the process either
                log.exception("fallback model failed to load; nothing to serve")
        if self._source is not None:
            self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            self.refresh()

    def refresh(self, force: bool = False) -> RefreshOutcome:
        """Check the alias once and swap if it points elsewhere. Serialised: the poller and /admin/reload share it.
        `force` retries a rejected version before its backoff has elapsed (an operator asked for it)."""
        with self._refresh_lock:
            outcome = self._refresh_locked(force)
        self.last_outcome = outcome
        if self._on_refresh is not None:
            self._on_refresh(outcome)
        return outcome

    def _refresh_locked(self, force: bool) -> RefreshOutcome:
        current = self._current
        here = (current.version, current.source) if current else (None, None)
        if self._source is None and self._connect_error is not None:
            return RefreshOutcome("error", *here, detail=f"registry client: {self._connect_error}")
        if self._source is None:
            return RefreshOutcome("unchanged", *here, detail="no registry configured")
        try:
            version = self._source.champion_version()
            if version is None:
                # Keep whatever we serve: a vanished alias is not a reason to drop a working champion.
                return RefreshOutcome("no_champion", *here, detail="registry has no champion alias")
            if current is not None and current.source == "registry" and current.version == version:
                return RefreshOutcome("unchanged", *here)
            attempts, retry_at = self._rejected.get(version, (0, 0.0))
            if attempts and not force and time.monotonic() < retry_at:
                return RefreshOutcome("rejected", *here, detail=f"version {version} was refused; retry pending")
            model = self._source.load(version)
        except ModelError as exc:
            backoff = min(self._poll_interval_s * 2**attempts, MAX_REJECT_BACKOFF_S)
            self._rejected[version] = (attempts + 1, time.monotonic() + backoff)
            log.warning("champion version %s refused (next try in %.0f s): %s", version, backoff, exc)
            return RefreshOutcome("rejected", *here, detail=f"version {version} was refused: ModelError")
        except Exception as exc:  # registry down or bad model: keep serving, retry next poll
            # Public answers (/ready, /admin/reload) carry the class only: MLflow's messages contain the tracking
            # URI, credentials included. The log has the message, with credentials redacted (serving.logs).
            log.warning("model refresh failed: %r", exc)
            return RefreshOutcome("error", *here, detail=type(exc).__name__)
        self._rejected.pop(version, None)
        self._current = model  # the atomic swap
        log.info("now serving %s version %s (was %s)", model.name, model.version, here[0])
        return RefreshOutcome("swapped", model.version, model.source)
