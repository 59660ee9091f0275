"""Issues 13.2 and 15.9 through the retrain sensor: a failed retrain is retried by Dagster and the sensor says so;
a file read by a run is not counted again; requests for the same data collapse into one run."""

from dagster import DagsterRunStatus, RunRequest, SkipReason

from bodyfat_assets.core.landing.retrain import retrain_run_key
from bodyfat_assets.partitions import WILL_RETRY_TAG
from tests.support.sensor_harness import Harness


def harness(tmp_path) -> Harness:
    return Harness(tmp_path, BODYFAT_RETRAIN_MIN_ROWS="1", BODYFAT_RETRAIN_MIN_INTERVAL_S="0")


def test_while_a_retrain_is_queued_new_files_wait_for_it_instead_of_queueing_a_second(tmp_path):
    h = harness(tmp_path)
    h.ingested("seed", 252)
    first = h.tick("retrain_sensor")
    assert isinstance(first, RunRequest)
    h.retraining_run(DagsterRunStatus.NOT_STARTED, tags=first.tags)
    h.ingested("a-1", 20)  # lands while the run waits in the queue
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason), "a second retrain queued behind the first trains the same model twice"
    assert "is waiting to start" in skip.skip_message and "wait" in skip.skip_message


def test_a_file_ingested_after_the_run_was_created_but_read_by_it_is_not_counted_again(tmp_path):
    h = harness(tmp_path)
    h.ingested("seed", 252)
    run = h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed", "a-1"])
    h.ingested("a-1", 20)  # ingested after the run was created, finished before its cleaning step read the data
    assert run.run_id
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason) and "no file ingested" in skip.skip_message


def test_a_re_materialized_partition_already_read_does_not_retrain_the_same_data(tmp_path):
    h = harness(tmp_path)
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed", "a-1"])
    h.ingested("a-1", 20)  # the same file ingested again (a manual re-run): same data, nothing to learn
    assert isinstance(h.tick("retrain_sensor"), SkipReason)
    h.ingested("b-2", 20)
    request = h.tick("retrain_sensor")
    assert request.run_key == retrain_run_key(["seed", "a-1", "b-2"])
    assert request.tags["bodyfat/new_partitions"] == "b-2"


def test_a_failed_retrain_that_dagster_retries_is_not_announced_as_a_new_retrain(tmp_path):
    h = harness(tmp_path)
    h.ingested("seed", 252)
    first = h.tick("retrain_sensor")
    h.retraining_run(DagsterRunStatus.FAILURE, tags={**first.tags, WILL_RETRY_TAG: "true"})
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason)
    assert "failed; Dagster's run retries re-execute it (retry 1)" in skip.skip_message


def test_a_failed_retrain_with_its_retries_spent_waits_for_new_data_and_says_so(tmp_path):
    h = harness(tmp_path)
    h.ingested("seed", 252)
    first = h.tick("retrain_sensor")
    h.retraining_run(DagsterRunStatus.FAILURE, tags={**first.tags, WILL_RETRY_TAG: "false"})
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason), "a request with the failed run's key is dropped by Dagster: say so"
    assert "failed" in skip.skip_message and "until a new file" in skip.skip_message
    h.ingested("a-1", 20)
    again = h.tick("retrain_sensor")
    assert isinstance(again, RunRequest) and again.run_key == retrain_run_key(["seed", "a-1"])


def test_a_blocked_model_is_not_retrained_on_the_same_data(tmp_path):
    """The gate said no: a green run (its decision is "blocked"), so its data counts as seen."""
    h = harness(tmp_path)
    h.ingested("seed", 252)
    h.ingested("a-1", 20)
    h.retraining_run(DagsterRunStatus.SUCCESS, read=["seed", "a-1"])
    for _ in range(3):
        skip = h.tick("retrain_sensor")
        assert isinstance(skip, SkipReason) and "no file ingested" in skip.skip_message


def test_a_successful_retry_counts_from_its_first_attempt(tmp_path):
    """A retry from failure reuses its first attempt's cleaning: a file ingested between the two was not read."""
    h = harness(tmp_path)
    h.ingested("seed", 252)
    first = h.retraining_run(DagsterRunStatus.FAILURE, read=["seed"])
    h.ingested("c-3", 20)  # after the first attempt read the data, before Dagster created the retry
    h.retraining_run(DagsterRunStatus.SUCCESS, retry_of=first)
    request = h.tick("retrain_sensor")
    assert isinstance(request, RunRequest) and request.tags["bodyfat/new_partitions"] == "c-3"


def test_a_retry_in_flight_is_named_by_its_number_from_its_lineage(tmp_path):
    h = harness(tmp_path)
    h.ingested("seed", 252)
    first = h.tick("retrain_sensor")
    failed = h.retraining_run(DagsterRunStatus.FAILURE, tags={**first.tags, WILL_RETRY_TAG: "true"})
    second = h.retraining_run(DagsterRunStatus.FAILURE, tags={**first.tags, WILL_RETRY_TAG: "true"}, retry_of=failed)
    h.retraining_run(DagsterRunStatus.NOT_STARTED, tags=first.tags, retry_of=second)
    skip = h.tick("retrain_sensor")
    assert isinstance(skip, SkipReason) and "(retry 2) is waiting to start" in skip.skip_message
