"""Add trials to the pipeline's Optuna study from another process or machine: `python -m bodyfat_assets.tuning_worker`.

It reads the current `bodyfat_splits` from the lake and joins the study `tuned_model` uses for that data (same name,
same CV folds and seed, so scores are comparable) in the Optuna storage from the environment (`OPTUNA_STORAGE`,
PostgreSQL in production). The next `tuned_model` run resumes the study and picks the best trial of all workers.
No Dagster import: a worker needs only the lake, the storage and the ML stack.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import optuna
from bodyfat_contract import model_features

from bodyfat_assets.core.splits import latest_training_rows
from bodyfat_assets.core.training import training_data
from bodyfat_assets.core.tuning import tune
from bodyfat_assets.lake import SPLITS_KEY
from bodyfat_assets.settings import Settings


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_worker(settings: Settings, n_trials: int, families: Sequence[str] | None = None,
               features: Sequence[str] | None = None, sampler_seed: int | None = None,
               worker: str | None = None) -> dict[str, Any]:
    """Run `n_trials` more trials on the study for the lake's current splits; return a JSON-able summary."""
    if not settings.tuning.storage:
        raise SystemExit("OPTUNA_STORAGE is not set: an in-memory study cannot be shared between processes")
    lake = settings.lake
    train = latest_training_rows(lake)
    if train is None:
        raise SystemExit(f"{lake.url}/{SPLITS_KEY} does not exist: materialize bodyfat_splits first")
    columns = list(features or model_features(settings.data.allow_density))
    worker = worker or worker_id()
    config = replace(
        settings.tuning.tuning_config(n_trials, families=families),
        # Our own sampler seed: workers sharing one would all propose the same configurations.
        sampler_seed=sampler_seed if sampler_seed is not None else int.from_bytes(os.urandom(4), "little"),
        trial_user_attrs={"worker": worker},
    )
    X, y, groups = training_data(train, columns)  # as tuned_model: the same folds, the same study
    result = tune(X, y, config, groups=groups)
    return {
        "study": result.study.study_name,
        "worker": worker,
        "trials_this_run": result.trials_this_run,
        "trials_in_study": len(result.study.trials),
        "best_family": result.best_family,
        "best_cv_rmse": result.best_cv_rmse,
        "seconds": round(result.seconds, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bodyfat_assets.tuning_worker", description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, required=True, help="trials to add to the study")
    parser.add_argument("--families", help="comma-separated model families (default: BODYFAT_FAMILIES or all); "
                                           "another set of families is another study")
    parser.add_argument("--features", help="comma-separated feature columns (default: as tuned_model)")
    parser.add_argument("--sampler-seed", type=int, help="TPE sampler seed (default: random per worker)")
    parser.add_argument("--worker-id", help="recorded as the trials' `worker` user attribute (default: host:pid)")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    split = lambda value: [v.strip() for v in value.split(",") if v.strip()] if value else None  # noqa: E731
    summary = run_worker(Settings.from_env(), args.trials, split(args.families), split(args.features),
                         args.sampler_seed, args.worker_id)
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
