"""The tuning worker and tune()'s bookkeeping in a shared study, on SQLite and a local lake (no services)."""

import optuna
import pytest
from bodyfat_contract import TARGET, model_features

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.splits import stratified_split, train_test_frames
from bodyfat_assets.core.training import training_data
from bodyfat_assets.core.tuning import TuningConfig, default_study_name, tune
from bodyfat_assets.lake import frame_to_parquet, store_from_url
from bodyfat_assets.resources import resources_for
from bodyfat_assets.settings import Settings
from bodyfat_assets.tuning_worker import SPLITS_KEY, main, run_worker


@pytest.fixture(scope="module")
def splits(seed_frame):
    return stratified_split(clean(seed_frame).cleaned)


def settings_for(tmp_path, **extra) -> Settings:
    return Settings.from_env({"BODYFAT_HOME": str(tmp_path), "BODYFAT_CV_FOLDS": "3",
                              "BODYFAT_FAMILIES": "ridge,knn", **extra})


def test_trials_this_run_ignores_trials_added_by_others(splits):
    train, _ = train_test_frames(splits)
    X, y = train[model_features()], train[TARGET.name]

    def another_process_adds_a_trial(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=99.0))

    result = tune(X, y, TuningConfig(n_trials=3, families=("ridge",), cv_folds=3, storage="sqlite://",
                                     trial_user_attrs={"worker": "me"}),
                  callbacks=[another_process_adds_a_trial])
    assert result.trials_this_run == 3 and len(result.study.trials) == 6
    assert [t.user_attrs.get("worker") for t in result.study.trials] == ["me", None] * 3


def test_worker_joins_the_study_tuned_model_uses(tmp_path, splits, capsys):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    settings = settings_for(tmp_path, OPTUNA_STORAGE=storage)
    store_from_url(settings.lake_url).write_bytes(SPLITS_KEY, frame_to_parquet(splits))
    # The name tuned_model computes from its resource (the same Settings) with the worker's family set, on the same
    # rows and CV groups.
    tuned_model_config = resources_for(settings)["pipeline"].tuning_config(families=["knn", "ridge"])
    X, y, groups = training_data(splits, model_features())
    expected = default_study_name(X, y, tuned_model_config, groups)

    first = run_worker(settings, 2, worker="w1", sampler_seed=1)
    assert first["study"] == expected and first["trials_this_run"] == 2 and first["trials_in_study"] == 2

    env = {"BODYFAT_HOME": str(tmp_path), "BODYFAT_CV_FOLDS": "3", "OPTUNA_STORAGE": storage}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.delenv("BODYFAT_ENV", raising=False)
        assert main(["--trials", "2", "--families", "knn,ridge", "--worker-id", "w2"]) == 0
    assert '"trials_in_study": 4' in capsys.readouterr().out
    study = optuna.load_study(study_name=expected, storage=storage)
    assert [t.user_attrs["worker"] for t in study.trials] == ["w1", "w1", "w2", "w2"]


def test_worker_refuses_without_splits_or_shared_storage(tmp_path):
    with pytest.raises(SystemExit, match="materialize bodyfat_splits first"):
        run_worker(settings_for(tmp_path, OPTUNA_STORAGE=f"sqlite:///{tmp_path / 'o.db'}"), 1)
    with pytest.raises(SystemExit, match="OPTUNA_STORAGE"):
        run_worker(settings_for(tmp_path), 1)


def test_a_different_family_set_gets_its_own_study(tmp_path, splits):
    """Optuna refuses new choices for a persistent categorical: a narrower search must not share the study."""
    train, _ = train_test_frames(splits)
    X, y = train[model_features()], train[TARGET.name]
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    wide = tune(X, y, TuningConfig(n_trials=2, families=("ridge", "knn"), cv_folds=3, storage=storage))
    narrow = tune(X, y, TuningConfig(n_trials=2, families=("ridge",), cv_folds=3, storage=storage))
    again = tune(X, y, TuningConfig(n_trials=2, families=("knn", "ridge"), cv_folds=3, storage=storage))
    assert narrow.study.study_name != wide.study.study_name == again.study.study_name
    assert len(again.study.trials) == 4 and all(t.state.name == "COMPLETE" for t in again.study.trials)
