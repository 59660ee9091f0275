"""Sensors evaluated with build_sensor_context on a temporary lake and an ephemeral Dagster instance."""

import json

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DagsterRunStatus,
    SkipReason,
    evaluate_automation_conditions,
)

from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.defs.predictions.assets import AUTOMATION_RUN_TAGS
from bodyfat_assets.partitions import SCORING_FILES, landed_files
from bodyfat_assets.testing.landing_files import BAD_NAMES, bad_files, csv_bytes, parquet_bytes
from tests.support.sensor_harness import Harness


def test_a_fresh_instance_registers_seed_and_ingests_it(tmp_path):
    h = Harness(tmp_path)
    result = h.tick()
    assert [(r.job_name, r.partition_key) for r in result.run_requests] == [(INGEST_JOB, SEED_PARTITION)]
    assert h.partitions("train") == [SEED_PARTITION] and h.partitions("score") == [SEED_PARTITION]
    assert h.tick().run_requests == [], "seed is registered once"


def test_new_file_gives_one_run_request_and_the_same_file_again_none(harness, labeled_frame):
    data = csv_bytes(labeled_frame)
    harness.land("train/batch-1.csv", data)
    result = harness.tick()
    [request] = result.run_requests
    key = partition_key_for("batch-1.csv", content_hash(data))
    assert request.job_name == INGEST_JOB and request.partition_key == key
    assert landed_files(request.tags) == {key: "batch-1.csv"} and request.run_key.startswith("train/batch-1.csv@")
    assert key in harness.partitions("train")
    assert harness.tick().run_requests == [], "seen twice, requested once"
    harness.queue(request)
    harness.cursors.clear()  # even with a lost cursor: the queued run marks it in flight
    assert harness.tick().run_requests == []
    assert harness.store.exists("train/batch-1.csv"), "the sensor never moves an accepted file; its run does"


def test_a_changed_reupload_is_a_new_partition(harness, labeled_frame):
    harness.land("train/batch.csv", csv_bytes(labeled_frame))
    first = harness.tick().run_requests[0]
    harness.land("train/batch.csv", csv_bytes(labeled_frame.iloc[:10]))
    second = harness.tick().run_requests[0]
    assert first.partition_key != second.partition_key and first.run_key != second.run_key


@pytest.mark.parametrize("name", BAD_NAMES)
def test_each_bad_kind_is_rejected_with_its_reason(harness, labeled_frame, name):
    code, data = bad_files(labeled_frame)[name]
    harness.land(f"train/{name}", data)
    result = harness.tick()
    assert result.run_requests == []
    assert not harness.store.exists(f"train/{name}")
    [moved] = [k for k in harness.store.list_keys("rejected/train/") if k.endswith(name)]
    reason = json.loads(harness.store.read_bytes(f"{moved}.reason.json"))
    assert reason["reason"] == code and reason["detail"]
    assert harness.store.read_bytes(moved) == data, "the rejected file is kept byte for byte"
    [observation] = result.asset_events
    assert observation.metadata["rejected"].value == 1


def test_duplicate_content_under_another_name_is_rejected(harness, labeled_frame):
    harness.land("train/a.csv", csv_bytes(labeled_frame))
    harness.queue(harness.tick().run_requests[0])
    harness.land("train/copy-of-a.csv", csv_bytes(labeled_frame))
    assert harness.tick().run_requests == []
    [reason] = [k for k in harness.store.list_keys("rejected/train/") if k.endswith(".reason.json")]
    assert json.loads(harness.store.read_bytes(reason))["reason"] == "duplicate_content"


def test_one_bad_file_does_not_block_the_others(harness, labeled_frame):
    harness.land("train/good.csv", csv_bytes(labeled_frame))
    harness.land("train/bad.csv", b"")
    harness.land("score/good.parquet", parquet_bytes(labeled_frame.drop(columns=["BodyFat"])))
    result = harness.tick()
    assert [r.partition_key.split("-")[0] for r in result.run_requests] == ["good"]
    assert len(harness.partitions("score")) == 2
    assert harness.store.list_keys("train/") == ["train/good.csv"]


def test_scoring_file_waits_for_a_champion_then_is_requested(harness, labeled_frame):
    scoring = parquet_bytes(labeled_frame.drop(columns=["BodyFat"]))
    harness.land("score/s1.parquet", scoring)
    assert harness.tick().run_requests == [], "no champion yet: registered only"
    harness.instance.report_runless_asset_event(
        AssetMaterialization(AssetKey("champion"), metadata={"champion_version": "1"}))
    harness.land("score/s2.parquet", parquet_bytes(labeled_frame.drop(columns=["BodyFat"]).iloc[:5]))
    [request] = harness.tick().run_requests
    assert request.job_name == SCORE_JOB and request.partition_key.startswith("s2-")


def test_a_new_champion_version_rescores_every_scoring_partition_and_the_same_version_none(harness):
    """Declarative Automation on batch_predictions, evaluated as the automation sensor would on each tick."""
    harness.instance.add_dynamic_partitions(SCORING_FILES.name, ["s1", "s2"])
    selection = AssetSelection.assets("batch_predictions")

    def tick_automation(cursor=None):
        result = evaluate_automation_conditions(harness.defs, harness.instance, asset_selection=selection,
                                                cursor=cursor)
        return set(result.get_requested_partitions(AssetKey("batch_predictions"))), result.cursor

    def champion_materialized(version: str) -> None:  # the tag is what Output(data_version=...) writes
        harness.instance.report_runless_asset_event(AssetMaterialization(
            AssetKey("champion"), metadata={"champion_version": version}, tags={"dagster/data_version": version}))

    requested, cursor = tick_automation()
    assert requested == set(), "no champion yet"
    champion_materialized("1")
    requested, cursor = tick_automation(cursor)
    assert requested == {"seed", "s1", "s2"}
    requested, cursor = tick_automation(cursor)
    assert requested == set(), "handled once"
    champion_materialized("1")  # a rejected challenger: champion re-materialized with the same version
    requested, cursor = tick_automation(cursor)
    assert requested == set()
    champion_materialized("2")
    requested, _ = tick_automation(cursor)
    assert requested == {"seed", "s1", "s2"}


def test_runs_of_declarative_automation_carry_the_projects_tag_that_batch_predictions_reads(harness):
    """The re-scoring window applies to runs Declarative Automation asked for: known by the project's own tag, which
    the automation sensor sets on every run it launches (its public `run_tags`), not by a Dagster-internal one."""
    sensor = harness.defs.resolve_sensor_def("declarative_automation")
    assert AUTOMATION_RUN_TAGS and sensor.run_tags == AUTOMATION_RUN_TAGS


def test_retrain_sensor_debounces_on_rows(tmp_path):
    h = Harness(tmp_path, BODYFAT_RETRAIN_MIN_ROWS="30", BODYFAT_RETRAIN_MIN_INTERVAL_S="0")
    assert isinstance(h.tick("retrain_sensor"), SkipReason)
    h.ingested("seed", 252)
    first = h.tick("retrain_sensor")
    assert first.job_name == PIPELINE_JOB and "first training" in first.tags["bodyfat/retrain_reason"]
    # The retraining run the daemon launched for that request, finished.
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed"], tags=first.tags)
    assert "no file" in h.tick("retrain_sensor").skip_message
    h.ingested("a-1", 20)
    assert "waiting for 30" in h.tick("retrain_sensor").skip_message
    h.ingested("b-2", 20)
    second = h.tick("retrain_sensor")
    assert second.run_key != first.run_key and "40 new rows in 2 file(s)" in second.tags["bodyfat/retrain_reason"]


def test_retrain_sensor_respects_the_minimum_interval(tmp_path):
    h = Harness(tmp_path, BODYFAT_RETRAIN_MIN_ROWS="1", BODYFAT_RETRAIN_MIN_INTERVAL_S="3600")
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed"])
    h.ingested("a-1", 500)
    assert "minimum 3600 s" in h.tick("retrain_sensor").skip_message


def test_retrain_sensor_retrains_on_evidence_before_enough_rows_and_tags_the_run(tmp_path):
    h = Harness(tmp_path, BODYFAT_RETRAIN_MIN_ROWS="100", BODYFAT_RETRAIN_MIN_INTERVAL_S="0")
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed"])
    h.ingested("a-1", 30, evidence="none")
    assert "waiting for 100" in h.tick("retrain_sensor").skip_message, "a healthy file is not evidence"
    h.ingested("b-2", 30, evidence="live RMSE 9.10 > 1.25 × champion test RMSE 4.50 on 30 rows")
    request = h.tick("retrain_sensor")
    assert request.tags["bodyfat/retrain_reason"].startswith("evidence: live RMSE 9.10")
    assert request.tags["bodyfat/retrain_evidence"] == "b-2: live RMSE 9.10 > 1.25 × champion test RMSE 4.50 on 30 rows"


def test_a_file_with_suspect_labels_neither_triggers_nor_counts_towards_a_retrain(tmp_path):
    h = Harness(tmp_path, BODYFAT_RETRAIN_MIN_ROWS="50", BODYFAT_RETRAIN_MIN_INTERVAL_S="0")
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed"])
    h.ingested("poison-1", 400, evidence="none",
               suspect_labels="62% of BodyFat values outside the 90 % interval")
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason) and "no file ingested" in skip.skip_message
