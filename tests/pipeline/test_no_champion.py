"""A first challenger that is blocked leaves no champion, yet `champion`'s data version changes (to "None"), so
Declarative Automation asks for the scoring partitions to be re-scored. Such a run used to fail ("no champion
model has been promoted yet"): a red run in the Dagster UI for an expected state, found when it failed
tests/landing/test_blocked_e2e.py in one CI run of a series. Now it ends green and says why; a run
started by hand or by the landing sensor still fails with that message."""

import pytest
from dagster import AssetKey, DagsterInstance

from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.scoring.source import NO_CHAMPION_YET
from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.defs.predictions.assets import AUTOMATION_RUN_TAGS
from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES
from bodyfat_assets.settings import Settings

pytestmark = pytest.mark.e2e

WORSE_THAN_RIDGE = {"BODYFAT_FAMILIES": "knn", "BODYFAT_BASELINE_TOLERANCE": "0", "BODYFAT_TRIALS": "4",
                    "BODYFAT_CV_FOLDS": "3"}
FROM_AUTOMATION = AUTOMATION_RUN_TAGS


@pytest.fixture(scope="module")
def blocked_home(tmp_path_factory):
    """The seed ingested and a first retrain whose k-NN challenger the ridge baseline blocks: no champion."""
    home = tmp_path_factory.mktemp("no_champion")
    settings = Settings.from_env({"BODYFAT_HOME": str(home), **WORSE_THAN_RIDGE})
    (home / "dagster").mkdir()
    with DagsterInstance.local_temp(str(home / "dagster")) as instance:
        instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
        instance.add_dynamic_partitions(SCORING_FILES.name, [SEED_PARTITION])
        defs = build_definitions(settings)
        assert defs.resolve_job_def(INGEST_JOB).execute_in_process(instance=instance,
                                                                    partition_key=SEED_PARTITION).success
        retrain = defs.resolve_job_def(PIPELINE_JOB).execute_in_process(instance=instance)
        [decision] = [e.materialization.metadata for e in retrain.get_asset_materialization_events()
                      if e.asset_key == AssetKey("champion")]
        assert str(decision["champion_version"].value) == "None", decision
        yield defs, instance


def score_seed(defs, instance, tags):
    return defs.resolve_job_def(SCORE_JOB).execute_in_process(instance=instance, partition_key=SEED_PARTITION,
                                                              tags=tags, raise_on_error=False)


def test_a_rescoring_requested_with_no_champion_ends_green_and_says_why(blocked_home):
    defs, instance = blocked_home
    result = score_seed(defs, instance, FROM_AUTOMATION)
    assert result.success
    assert not [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("batch_predictions")]
    [observation] = [e.asset_observation_data.asset_observation for e in result.all_events
                     if e.event_type_value == "ASSET_OBSERVATION"]
    assert observation.metadata["rescore_skipped"].value == NO_CHAMPION_YET


def test_scoring_started_by_hand_with_no_champion_still_fails_with_the_reason(blocked_home):
    defs, instance = blocked_home
    result = score_seed(defs, instance, {})
    assert not result.success
    assert "no champion model has been promoted yet" in str(result.failure_data_for_node("batch_predictions").error)
