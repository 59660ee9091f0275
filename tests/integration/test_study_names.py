"""Persistent tuning on PostgreSQL: a changed search space gets a new study instead of an Optuna error.

Optuna refuses other choices for a stored categorical parameter, so a study name that ignores the family set
breaks the first run after a family is added to (or removed from) `core/families.py`.
"""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import pytest
from bodyfat_contract import TARGET, model_features

from bodyfat_assets.core import families as family_registry
from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.splits import stratified_split, train_test_frames
from bodyfat_assets.core.tuning import TuningConfig, tune
from bodyfat_assets.testing.services import postgres_database

pytestmark = pytest.mark.integration
# The newest default family is "added" between the two runs (to the registry and to the default search).
ADDED_FAMILY = family_registry.DEFAULT_FAMILIES[-1]


@pytest.fixture
def optuna_db() -> Iterator[str]:
    with postgres_database("it_study") as url:
        yield url


def test_adding_a_family_starts_a_new_study(optuna_db: str, seed_frame, monkeypatch: pytest.MonkeyPatch) -> None:
    train, _ = train_test_frames(stratified_split(clean(seed_frame).cleaned))
    X, y = train[model_features()], train[TARGET.name]
    every_family = TuningConfig(n_trials=2, cv_folds=3, storage=optuna_db)  # families=(): the default search

    with monkeypatch.context() as before_the_family_existed:
        before_the_family_existed.delitem(family_registry.FAMILIES, ADDED_FAMILY)
        before_the_family_existed.setattr(family_registry, "DEFAULT_FAMILIES",
                                          tuple(f for f in family_registry.DEFAULT_FAMILIES if f != ADDED_FAMILY))
        first = tune(X, y, every_family)
    second = tune(X, y, every_family)

    assert second.study.study_name != first.study.study_name
    assert second.trials_this_run == 2 and len(second.study.trials) == 2
    assert {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(optuna_db)} == {
        first.study.study_name: 2, second.study.study_name: 2}
