"""One Optuna study over all model families, scored by grouped k-fold CV RMSE on the training split (a group's rows,
e.g. a seed row and its synthetic copies, share a fold: `core/splits.cv_groups`).

Trials report the running mean RMSE after each fold, so a clearly bad configuration is pruned before it
spends all k fits. The study may live in persistent storage: with the same name (derived from the training
data and the search space) a second run resumes it and adds trials instead of starting over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import root_mean_squared_error
from sklearn.pipeline import Pipeline

from bodyfat_assets.core.families import FAMILIES, build_pipeline, resolve_families
from bodyfat_assets.core.splits import grouped_folds

TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningConfig:
    n_trials: int = 50
    timeout_s: float | None = None
    cv_folds: int = 5
    seed: int = 42
    families: Sequence[str] = ()
    """Model families to search; empty means `DEFAULT_FAMILIES` in `core/families.py`."""
    study_name: str | None = None
    storage: str | None = None
    sampler_seed: int | None = None
    """Seed for the TPE sampler only; None uses `seed`. Parallel workers on one study need different sampler
    seeds (or they propose the same configurations) but the same `seed`, which fixes the CV folds and the models'
    own randomness so their scores stay comparable."""
    trial_user_attrs: Mapping[str, Any] = field(default_factory=dict)
    """Set on every trial this call runs, e.g. which worker ran it."""


@dataclass
class TuningResult:
    study: optuna.Study
    best_family: str
    best_params: dict[str, Any]
    best_cv_rmse: float
    model: Pipeline
    """The best configuration refitted on the whole training split."""
    trials_this_run: int
    best_by_family: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def data_fingerprint(X: pd.DataFrame, y: pd.Series, groups: np.ndarray | None = None) -> str:
    """The rows, the target and the CV groups: other groups are other folds, so other scores."""
    frame = X.assign(_y=y) if groups is None else X.assign(_y=y, _group=np.asarray(groups))
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:12]


def search_space_digest(families: Sequence[str], features: Sequence[str], cv_folds: int, seed: int) -> str:
    """A digest of what shapes the search and its scores: the family choices (the `family` categorical), the feature
    columns, and the CV folds and seed (they fix the folds every trial is scored on; `cv` names how they are drawn,
    so a study scored on ungrouped folds is never resumed)."""
    space = {"families": family_choices(families), "features": list(features), "cv_folds": cv_folds, "seed": seed,
             "cv": "grouped"}
    return hashlib.sha256(json.dumps(space, sort_keys=True).encode()).hexdigest()[:10]


def default_study_name(X: pd.DataFrame, y: pd.Series, config: TuningConfig,
                       groups: np.ndarray | None = None) -> str:
    """`bodyfat-<data fingerprint>-<search space digest>`. A persistent study keeps the `family` choices it was
    created with (Optuna refuses others) and its scores are comparable only on the same folds, so every change to
    the data, the families (also when the default list changes), the features or the folds gets its own study. Runs and
    tuning workers with the same inputs compute the same name and share the study."""
    families = resolve_families(config.families)
    digest = search_space_digest(families, list(X.columns), config.cv_folds, config.seed)
    return f"bodyfat-{data_fingerprint(X, y, groups)}-{digest}"


def family_choices(families: Sequence[str]) -> list[str]:
    """The families in FAMILIES order: the same set gives the same categorical distribution whatever its order."""
    return [name for name in FAMILIES if name in set(families)]


def trial_outcome(trial: optuna.trial.FrozenTrial, folds: int | None = None) -> str:
    """A finished trial as the tuning log shows it. Optuna keeps a pruned trial's last reported value, the mean RMSE
    over only the folds it reached, so it is labelled partial and never shown as a CV RMSE."""
    state = trial.state
    if state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
        return f"cv_rmse={trial.value:.3f}"
    if state == optuna.trial.TrialState.PRUNED and trial.intermediate_values:
        step = max(trial.intermediate_values)
        of = f"/{folds}" if folds else ""
        return f"pruned at fold {step + 1}{of}, partial RMSE {trial.intermediate_values[step]:.3f}"
    return state.name.lower()


def best_completed_value(trials: Sequence[optuna.trial.FrozenTrial]) -> float:
    """The best CV RMSE among completed trials (a pruned trial's partial value is not one); NaN if none."""
    values = [t.value for t in trials if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
    return min(values, default=float("nan"))


def cv_rmse(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, folds: int, seed: int,
            trial: optuna.Trial | None = None, groups: np.ndarray | None = None) -> float:
    """Mean RMSE over `grouped_folds` (no group split between fit and validation)."""
    scores: list[float] = []
    for step, (fit_idx, val_idx) in enumerate(grouped_folds(X, folds, seed, groups)):
        model = clone(pipeline).fit(X.iloc[fit_idx], y.iloc[fit_idx])
        scores.append(root_mean_squared_error(y.iloc[val_idx], model.predict(X.iloc[val_idx])))
        if trial is not None:
            trial.report(float(np.mean(scores)), step)
            # After the last fold the CV is complete: its mean is the trial's value, whatever the pruner says (it
            # pruned such trials "at fold 5/5", leaving finished CVs out of the study as partial).
            if step < folds - 1 and trial.should_prune():
                raise optuna.TrialPruned()
    return float(np.mean(scores))


def create_study(config: TuningConfig, name: str) -> optuna.Study:
    return optuna.create_study(
        study_name=name,
        storage=config.storage,
        load_if_exists=True,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(
            seed=config.seed if config.sampler_seed is None else config.sampler_seed,
            n_startup_trials=min(10, config.n_trials),
        ),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    )


def tune(X: pd.DataFrame, y: pd.Series, config: TuningConfig, callbacks: Sequence[TrialCallback] = (),
         groups: np.ndarray | None = None) -> TuningResult:
    """`groups`: one cross-validation group per row (`core/splits.cv_groups`); None makes each row its own."""
    families = resolve_families(config.families)
    features = list(X.columns)
    started = time.monotonic()
    name = config.study_name or default_study_name(X, y, config, groups)
    study = create_study(config, name)
    ran: list[int] = []  # this call's trials: other processes may add trials to the same study meanwhile

    def objective(trial: optuna.Trial) -> float:
        ran.append(trial.number)
        for key, value in config.trial_user_attrs.items():
            trial.set_user_attr(key, value)
        family = trial.suggest_categorical("family", family_choices(families))
        params = FAMILIES[family].suggest(trial)
        trial.set_user_attr("params", params)  # bare names, ready for build_pipeline
        pipeline = build_pipeline(family, params, config.seed, features)
        return cv_rmse(pipeline, X, y, config.cv_folds, config.seed, trial, groups)

    study.optimize(objective, n_trials=config.n_trials, timeout=config.timeout_s, callbacks=list(callbacks),
                   gc_after_trial=False)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE
                 and t.params.get("family") in families]
    if not completed:
        raise RuntimeError(f"study {name!r} has no completed trial for families {list(families)}")
    best = min(completed, key=lambda t: t.value)
    family, params = best.params["family"], best.user_attrs["params"]
    best_by_family: dict[str, float] = {}
    for t in completed:
        f = t.params["family"]
        best_by_family[f] = min(best_by_family.get(f, np.inf), t.value)
    model = build_pipeline(family, params, config.seed, features).fit(X, y)
    return TuningResult(study=study, best_family=family, best_params=params, best_cv_rmse=float(best.value),
                        model=model, trials_this_run=len(ran), best_by_family=best_by_family,
                        seconds=time.monotonic() - started)
