"""In process: a challenger trained on poisoned labels wins on the contaminated test split and still
is not promoted, because it loses on the trusted holdout (the seed's test rows).

The label check that would quarantine the poisoned file (15.7b) is bypassed here with BODYFAT_SUSPECT_LABEL_SHARE
0.99, and the RMSE ceiling is lifted: this test shows the holdout guard alone standing between poison and the alias.
"""

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance, TableMetadataValue
from mlflow import MlflowClient

from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.model_outputs import ChampionOutcome
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.pipeline_runs import land_and_run, run_job
from tests.support.poisoned_labels import FAR_FROM_THE_SEED, poisoned_file

pytestmark = pytest.mark.e2e

ENV = {"BODYFAT_TRIALS": "6", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "log_ridge",
       "BODYFAT_SUSPECT_LABEL_SHARE": "0.99", "BODYFAT_RMSE_CEILING": "50", "OMP_NUM_THREADS": "1"}


def champion_output(result) -> ChampionOutcome:
    return result.output_for_node("champion")


@pytest.fixture(scope="module")
def poisoned_retrain(tmp_path_factory, seed_frame):
    home = tmp_path_factory.mktemp("poison")
    (home / "dagster").mkdir()
    settings = Settings.from_env({"BODYFAT_HOME": str(home), **ENV})
    with DagsterInstance.local_temp(str(home / "dagster")) as instance:
        instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
        assert run_job(settings, instance, INGEST_JOB, partition_key=SEED_PARTITION).success
        clean_run = run_job(settings, instance)
        assert clean_run.success
        key, _ = land_and_run(settings, instance, "train", "poisoned.csv", poisoned_file(seed_frame, FAR_FROM_THE_SEED))
        poisoned_run = run_job(settings, instance)
        assert poisoned_run.success, "a rejected challenger is the gate working: a green run"
        yield settings, key, champion_output(clean_run), poisoned_run, instance


def test_the_poisoned_file_got_past_the_label_check_into_both_splits(poisoned_retrain):
    settings, key, _, _, _ = poisoned_retrain
    splits = parquet_to_frame(store_from_url(settings.lake_url).read_bytes("bodyfat_splits.parquet"))
    poisoned = splits[splits["source"] == key]
    assert len(poisoned) == 400, "nothing quarantined: the label check is bypassed"
    assert (poisoned["split"] == "test").sum() > 50, "the test split is contaminated"


def test_a_poisoned_challenger_that_wins_on_the_test_split_loses_on_the_trusted_holdout(poisoned_retrain):
    settings, _, first, poisoned_run, _ = poisoned_retrain
    decision = champion_output(poisoned_run)
    assert first.decision == "promoted" and decision.previous_champion_version == first.champion_version
    assert decision.challenger_test_rmse < decision.champion_test_rmse, "it wins on the contaminated split"
    assert decision.challenger_holdout_rmse > decision.champion_holdout_rmse, "and loses on the seed's test rows"
    assert decision.decision == "rejected" and "trusted holdout" in decision.reason
    assert decision.champion_version == first.champion_version
    client = MlflowClient(settings.mlflow_tracking_uri)
    alias = client.get_model_version_by_alias(settings.model_name, "champion")
    assert str(alias.version) == first.champion_version, "the alias did not move"
    tags = client.get_model_version(settings.model_name, decision.challenger_version).tags
    assert tags["promotion_decision"] == "rejected"
    assert float(tags["challenger_holdout_rmse"]) == pytest.approx(decision.challenger_holdout_rmse, abs=1e-3)
    assert float(tags["champion_holdout_rmse"]) == pytest.approx(decision.champion_holdout_rmse, abs=1e-3)
    print(f"\npoisoned challenger v{decision.challenger_version}: test split "
          f"{decision.challenger_test_rmse:.3f} vs champion {decision.champion_test_rmse:.3f}; trusted holdout "
          f"{decision.challenger_holdout_rmse:.3f} vs {decision.champion_holdout_rmse:.3f}")


def test_the_champion_metadata_shows_both_comparisons(poisoned_retrain):
    _, _, _, _, instance = poisoned_retrain
    metadata = instance.get_latest_materialization_event(AssetKey("champion")).asset_materialization.metadata
    scores = metadata["scores"]
    assert isinstance(scores, TableMetadataValue)
    rows = pd.DataFrame([record.data for record in scores.records])
    assert list(rows["on"]) == ["test split", "trusted holdout"]
    assert rows.set_index("on").loc["trusted holdout", "rows"] == metadata["trusted_holdout_rows"].value == 49
    assert rows.set_index("on").loc["test split", "gain"] > 0 > rows.set_index("on").loc["trusted holdout", "gain"]
