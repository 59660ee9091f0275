"""Nested repeated cross-validation of each model family and of the whole tuning process, with interval coverage.

    python bench/model_quality.py [--repeats 2] [--seeds 0 1] [--family-trials 30] [--process-trials 50]

Outer loop: 10-fold CV repeated `--repeats` times on all cleaned rows (no Density), once per fold seed. Inside each
outer training fold, and only there, every candidate is tuned exactly as `tuned_model` tunes (Optuna, 5-fold CV,
the same seed), refitted, and its CV+ 90 % half-width computed; then it scores the outer held-out rows, which no
tuning decision has seen. Candidates:
  * each default family alone (`--family-trials` trials);
  * the default process: search the default families, pick the best, refit (`--process-trials`, as `make demo`);
  * the previous default process: the six raw-feature families of before the log features, same budget;
  * an untuned anchor: ordinary least squares on the raw predictors.
Reported per fold seed: mean of the outer-fold RMSEs; the paired difference to the previous default on the same
outer folds (mean, sd over folds, folds won); interval coverage pooled over every outer held-out row, overall and by
BMI group (703 · lb / in²).

    python bench/model_quality.py --coverage-repeats 20 [--seeds 0 1]

Coverage only, with many more repeats than the nested run can afford (one nested repeat is ~45 min per seed on two
cores, and 23 men with BMI ≥ 30 make one repeat's group coverage move in steps of 0.043): each default family is tuned
once on all rows (`--family-trials`), then its hyperparameters stay fixed while 10-fold CV is repeated; inside every
training fold the model is refitted and its CV+ half-width computed, and the held-out rows are checked against it.
Tuning on all rows makes the RMSE slightly optimistic, so this mode reports coverage and half-width, not RMSE.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, TARGET
from sklearn.base import RegressorMixin, clone
from sklearn.linear_model import LinearRegression
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import RepeatedKFold

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.evaluation import BMI_GROUPS, bmi_groups, cv_plus_half_width
from bodyfat_assets.core.families import DEFAULT_FAMILIES
from bodyfat_assets.core.tuning import TuningConfig, tune
from bodyfat_assets.settings import BODYFAT_CSV

PREVIOUS_DEFAULT = ("ridge", "elasticnet", "svr", "knn", "random_forest", "hist_gradient_boosting")
PROCESS, PREVIOUS = "default process (search, pick, refit)", "previous default process"
OUTER_FOLDS, INNER_FOLDS = 10, 5


@dataclass
class Candidate:
    label: str
    fit: Callable[[pd.DataFrame, pd.Series], RegressorMixin]
    """Tune (inside the given rows only) and refit; returns a fitted model."""


def tuned(families: tuple[str, ...], trials: int) -> Callable[[pd.DataFrame, pd.Series], RegressorMixin]:
    def fit(X: pd.DataFrame, y: pd.Series) -> RegressorMixin:
        config = TuningConfig(n_trials=trials, families=families, cv_folds=INNER_FOLDS, study_name="nested")
        return tune(X, y, config).model

    return fit


def candidates(args: argparse.Namespace) -> list[Candidate]:
    return [
        *(Candidate(family, tuned((family,), args.family_trials)) for family in DEFAULT_FAMILIES),
        Candidate(PROCESS, tuned(DEFAULT_FAMILIES, args.process_trials)),
        Candidate(PREVIOUS, tuned(PREVIOUS_DEFAULT, args.process_trials)),
        Candidate("anchor: OLS on raw predictors (untuned)", lambda X, y: LinearRegression().fit(X, y)),
    ]


def run_seed(seed: int, X: pd.DataFrame, y: pd.Series, groups: np.ndarray, args: argparse.Namespace) -> pd.DataFrame:
    """One row per (candidate, outer fold): its RMSE; and per held-out row whether the interval covered it."""
    rows, started = [], time.monotonic()
    splits = list(RepeatedKFold(n_splits=args.outer_folds, n_repeats=args.repeats, random_state=seed).split(X))
    for fold, (fit_idx, held_idx) in enumerate(splits):
        X_fit, y_fit, X_held, y_held = X.iloc[fit_idx], y.iloc[fit_idx], X.iloc[held_idx], y.iloc[held_idx]
        for candidate in candidates(args):
            model = candidate.fit(X_fit, y_fit)
            predicted = model.predict(X_held)
            half_width = cv_plus_half_width(model, X_fit, y_fit, INNER_FOLDS, TuningConfig().seed)
            inside = np.abs(y_held.to_numpy() - predicted) <= half_width
            rows.append({"seed": seed, "fold": fold, "candidate": candidate.label,
                         "rmse": root_mean_squared_error(y_held, predicted), "half_width": half_width,
                         "inside": inside, "groups": groups[held_idx]})
        process = {r["candidate"]: r["rmse"] for r in rows if r["fold"] == fold}
        print(f"  seed {seed} outer fold {fold + 1}/{len(splits)}: {PROCESS} {process[PROCESS]:.3f}, previous "
              f"{process[PREVIOUS]:.3f}, ensemble {process.get('ensemble', float('nan')):.3f}; "
              f"{time.monotonic() - started:.0f} s", flush=True)
    return pd.DataFrame(rows)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    lines = []
    for (seed, label), part in results.groupby(["seed", "candidate"], sort=False):
        previous = results[(results.seed == seed) & (results.candidate == PREVIOUS)].set_index("fold")["rmse"]
        diff = part.set_index("fold")["rmse"] - previous
        inside, groups = np.concatenate(part["inside"].to_list()), np.concatenate(part["groups"].to_list())
        line = {"seed": seed, "candidate": label, "rmse": part["rmse"].mean(), "rmse_sd": part["rmse"].std(),
                "diff_vs_previous": diff.mean(), "diff_sd": diff.std(), "folds_won": int((diff < 0).sum()),
                "folds": len(diff), "half_width": part["half_width"].mean(), "coverage": inside.mean()}
        for group, _, _ in BMI_GROUPS:
            line[f"coverage_bmi{group}"] = inside[groups == group].mean()
            line[f"rows_bmi{group}"] = int((groups == group).sum())
        lines.append(line)
    return pd.DataFrame(lines)


def markdown(table: pd.DataFrame) -> str:
    group_heads = " | ".join(f"BMI {g}" for g, _, _ in BMI_GROUPS)
    out = [f"| fold seed | candidate | nested RMSE (± sd over folds) | paired Δ vs previous (± sd), folds won | "
           f"90 % half-width | coverage | {group_heads} |",
           "|---|---|---:|---:|---:|---:|" + "---:|" * len(BMI_GROUPS)]
    for r in table.to_dict("records"):
        diff = ("—" if r["candidate"] == PREVIOUS else
                f"{r['diff_vs_previous']:+.3f} (± {r['diff_sd']:.3f}), {r['folds_won']}/{r['folds']}")
        groups = " | ".join(f"{r[f'coverage_bmi{g}']:.3f}" for g, _, _ in BMI_GROUPS)
        out.append(f"| {r['seed']} | {r['candidate']} | {r['rmse']:.3f} (± {r['rmse_sd']:.2f}) | {diff} | "
                   f"±{r['half_width']:.2f} | {r['coverage']:.3f} | {groups} |")
    return "\n".join(out)


def fixed_hyperparameter_coverage(seed: int, X: pd.DataFrame, y: pd.Series, groups: np.ndarray,
                                  args: argparse.Namespace) -> pd.DataFrame:
    """Per default family (hyperparameters tuned once on all rows): coverage pooled over `--coverage-repeats` × 10
    folds, overall and by BMI group, and the mean CV+ half-width."""
    lines = []
    for family in DEFAULT_FAMILIES:
        config = TuningConfig(n_trials=args.family_trials, families=(family,), cv_folds=INNER_FOLDS, study_name="cov")
        pipeline = tune(X, y, config).model
        inside, held_groups, widths = [], [], []
        splits = RepeatedKFold(n_splits=args.outer_folds, n_repeats=args.coverage_repeats, random_state=seed).split(X)
        for fit_idx, held_idx in splits:
            X_fit, y_fit = X.iloc[fit_idx], y.iloc[fit_idx]
            half_width = cv_plus_half_width(pipeline, X_fit, y_fit, INNER_FOLDS, TuningConfig().seed)
            predicted = clone(pipeline).fit(X_fit, y_fit).predict(X.iloc[held_idx])
            inside.append(np.abs(y.iloc[held_idx].to_numpy() - predicted) <= half_width)
            held_groups.append(groups[held_idx])
            widths.append(half_width)
        covered, held = np.concatenate(inside), np.concatenate(held_groups)
        line = {"seed": seed, "candidate": family, "half_width": float(np.mean(widths)), "coverage": covered.mean(),
                "predictions": len(covered)}
        for group, _, _ in BMI_GROUPS:
            line[f"coverage_bmi{group}"] = covered[held == group].mean()
        lines.append(line)
        print(f"  seed {seed} {family}: coverage {covered.mean():.3f} over {len(covered)} predictions", flush=True)
    return pd.DataFrame(lines)


def coverage_markdown(table: pd.DataFrame) -> str:
    group_heads = " | ".join(f"BMI {g}" for g, _, _ in BMI_GROUPS)
    out = [f"| fold seed | family | held-out predictions | 90 % half-width | coverage | {group_heads} |",
           "|---|---|---:|---:|---:|" + "---:|" * len(BMI_GROUPS)]
    for r in table.to_dict("records"):
        groups = " | ".join(f"{r[f'coverage_bmi{g}']:.3f}" for g, _, _ in BMI_GROUPS)
        out.append(f"| {r['seed']} | {r['candidate']} | {r['predictions']} | ±{r['half_width']:.2f} | "
                   f"{r['coverage']:.3f} | {groups} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="repeats of the outer 10-fold CV per fold seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="outer fold seeds")
    parser.add_argument("--family-trials", type=int, default=30, help="Optuna trials for one family alone")
    parser.add_argument("--outer-folds", type=int, default=OUTER_FOLDS, help="only to smoke-test the script")
    parser.add_argument("--process-trials", type=int, default=TuningConfig().n_trials,
                        help="Optuna trials for a whole default process (as `make demo`)")
    parser.add_argument("--coverage-repeats", type=int, default=0,
                        help="coverage only: repeats of 10-fold CV with each family's hyperparameters fixed")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cleaned = clean(pd.read_csv(BODYFAT_CSV)).cleaned.reset_index(drop=True)
    X, y = cleaned[list(FEATURE_NAMES)], cleaned[TARGET.name]
    groups = bmi_groups(cleaned["Weight"], cleaned["Height"])
    counts = ", ".join(f"BMI {g}: {(groups == g).sum()}" for g, _, _ in BMI_GROUPS)
    repeats = args.coverage_repeats or args.repeats
    budget = " (once, on all rows: coverage only)" if args.coverage_repeats else f", {args.process_trials} per process"
    print(f"{len(cleaned)} cleaned rows ({counts}); outer {args.outer_folds}-fold × {repeats} repeats, seeds "
          f"{args.seeds}; Optuna over inner {INNER_FOLDS}-fold CV: {args.family_trials} trials per family"
          f"{budget}", flush=True)
    started = time.monotonic()
    if args.coverage_repeats:
        table = pd.concat([fixed_hyperparameter_coverage(seed, X, y, groups, args) for seed in args.seeds])
        print(f"\n{time.monotonic() - started:.0f} s\n\n{coverage_markdown(table)}")
        return
    results = pd.concat([run_seed(seed, X, y, groups, args) for seed in args.seeds], ignore_index=True)
    print(f"\n{time.monotonic() - started:.0f} s\n")
    print(markdown(summary(results)))


if __name__ == "__main__":
    main()
