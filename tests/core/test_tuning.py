from dataclasses import replace

import numpy as np
import optuna
import pytest
from bodyfat_contract import DENSITY, TARGET, model_features
from sklearn.pipeline import Pipeline

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.families import DEFAULT_FAMILIES, FAMILIES, build_pipeline, resolve_families
from bodyfat_assets.core.splits import stratified_split, train_test_frames
from bodyfat_assets.core.tuning import TuningConfig, cv_rmse, default_study_name, tune


@pytest.fixture(scope="module")
def train(seed_frame):
    train, _ = train_test_frames(stratified_split(clean(seed_frame).cleaned))
    return train[model_features()], train[TARGET.name]


def test_at_least_five_families_each_a_pipeline():
    assert len(FAMILIES) >= 5
    trial = optuna.trial.FixedTrial  # noqa: F841 - families are exercised through tune() below
    for name, family in FAMILIES.items():
        study = optuna.create_study()
        params = family.suggest(study.ask())
        assert isinstance(build_pipeline(name, params), Pipeline)


def test_scaling_lives_inside_the_pipeline():
    pipe = build_pipeline("svr", {"C": 1.0, "epsilon": 0.1, "gamma": 0.1})
    assert pipe.steps[0][0] == "scale", "scaling must be fitted on training folds only"


def test_default_search_is_the_log_families_and_their_ensemble():
    assert resolve_families(()) == DEFAULT_FAMILIES
    assert set(DEFAULT_FAMILIES) <= set(FAMILIES)
    assert {"knn", "random_forest", "hist_gradient_boosting"}.isdisjoint(DEFAULT_FAMILIES), "selectable, not default"
    assert resolve_families(["knn"]) == ("knn",)


def test_ensemble_is_the_equal_average_of_its_members(train):
    X, y = train
    params = {"lasso_alpha": 0.01, "svr_C": 10.0, "svr_epsilon": 0.5, "svr_gamma": 0.01}
    ensemble = build_pipeline("ensemble", params, features=X.columns).fit(X, y)
    members = [build_pipeline("navy_ols", {}, features=X.columns),
               build_pipeline("log_lasso", {"alpha": 0.01}, features=X.columns),
               build_pipeline("log_svr", {"C": 10.0, "epsilon": 0.5, "gamma": 0.01}, features=X.columns)]
    average = np.mean([m.fit(X, y).predict(X.head(7)) for m in members], axis=0)
    assert ensemble.predict(X.head(7)) == pytest.approx(average, rel=1e-9)


def test_navy_ols_uses_only_the_two_navy_terms(train):
    X, y = train
    model = build_pipeline("navy_ols", {}, features=X.columns).fit(X, y)
    assert model[-1][-1].coef_.shape == (2,)
    shuffled = X.assign(Age=X["Age"].sample(frac=1, random_state=0).to_numpy(), Chest=X["Chest"] * 1.3)
    assert model.predict(shuffled) == pytest.approx(model.predict(X)), "no column besides Abdomen, Neck, Height"


def test_unknown_family_is_refused(train):
    with pytest.raises(ValueError, match="unknown model famil"):
        tune(*train, TuningConfig(n_trials=1, families=("ridge", "magic")))


def test_tune_is_seeded_and_refits_the_best(train):
    X, y = train
    config = TuningConfig(n_trials=6, families=("ridge", "knn"), cv_folds=3)
    a, b = tune(X, y, config), tune(X, y, config)
    assert a.best_cv_rmse == b.best_cv_rmse and a.best_params == b.best_params
    assert a.best_family in ("ridge", "knn")
    assert a.model.predict(X.head(3)).shape == (3,)
    assert set(a.best_by_family) <= {"ridge", "knn"} and min(a.best_by_family.values()) == a.best_cv_rmse


def test_pruning_reports_every_fold(train):
    X, y = train
    study = optuna.create_study()
    trial = study.ask()
    cv_rmse(build_pipeline("ridge", {"alpha": 1.0}), X, y, folds=4, seed=0, trial=trial)
    assert sorted(trial.storage.get_trial(trial._trial_id).intermediate_values) == [0, 1, 2, 3]


def test_persistent_study_resumes(train, tmp_path):
    X, y = train
    config = TuningConfig(n_trials=3, families=("ridge",), cv_folds=3, storage=f"sqlite:///{tmp_path}/o.db")
    first, second = tune(X, y, config), tune(X, y, config)
    assert first.study.study_name == second.study.study_name
    assert len(second.study.trials) == 6 and second.trials_this_run == 3


def test_density_is_not_a_default_feature():
    assert DENSITY.name not in model_features()
    assert DENSITY.name in model_features(allow_density=True)


def test_study_name_follows_everything_that_shapes_the_search(train):
    X, y = train
    base = TuningConfig(families=("ridge", "knn"), cv_folds=5)
    name = default_study_name(X, y, base)
    assert default_study_name(X, y, replace(base, families=("knn", "ridge"), n_trials=3)) == name
    others = [replace(base, families=("ridge",)), replace(base, families=()), replace(base, cv_folds=3),
              replace(base, seed=7)]
    names = {name, *(default_study_name(X, y, config) for config in others),
             default_study_name(X.drop(columns="Age"), y, base)}
    assert len(names) == len(others) + 2


def _frozen(state, value=None, intermediate=None):
    dist = optuna.distributions.CategoricalDistribution(["log_svr"])
    return optuna.trial.create_trial(state=state, value=value, params={"family": "log_svr"},
                                     distributions={"family": dist}, intermediate_values=intermediate or {})


def test_a_pruned_trial_is_reported_as_partial_never_as_a_cv_rmse() -> None:
    """Optuna keeps a pruned trial's last reported value (the mean over the folds it reached); the log
    printed it as `cv_rmse=5.17` while the family's table said 8.07."""
    from bodyfat_assets.core.tuning import trial_outcome

    pruned = _frozen(optuna.trial.TrialState.PRUNED, intermediate={0: 5.4, 1: 5.3, 2: 5.17})
    assert trial_outcome(pruned, folds=10) == "pruned at fold 3/10, partial RMSE 5.170"
    assert trial_outcome(_frozen(optuna.trial.TrialState.COMPLETE, value=4.5), folds=10) == "cv_rmse=4.500"
    assert trial_outcome(_frozen(optuna.trial.TrialState.FAIL), folds=10) == "fail"


def test_best_so_far_counts_completed_trials_only() -> None:
    from bodyfat_assets.core.tuning import best_completed_value

    trials = [_frozen(optuna.trial.TrialState.COMPLETE, value=4.5),
              _frozen(optuna.trial.TrialState.PRUNED, value=4.1, intermediate={0: 4.1})]
    assert best_completed_value(trials) == 4.5
    assert np.isnan(best_completed_value(trials[1:]))


def test_a_trial_that_finished_its_cv_is_never_pruned(train) -> None:
    """A trial the median pruner would stop after its last fold has its CV RMSE already: "pruned at fold 5/5"
    left a finished CV out of the study as partial."""
    X, y = train
    ridge = build_pipeline("ridge", {"alpha": 1.0})
    # Prunes every trial from its second fold on: for 2 folds that is the last one.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=1))
    value = cv_rmse(ridge, X, y, folds=2, seed=0, trial=study.ask())
    assert value == pytest.approx(cv_rmse(ridge, X, y, folds=2, seed=0))
    early = study.ask()
    with pytest.raises(optuna.TrialPruned):  # before its last fold, a bad trial is still stopped
        cv_rmse(ridge, X, y, folds=3, seed=0, trial=early)
