"""A step of an ingestion run that fails once (the lake refused a write) is retried by the jobs'
RetryPolicy, and the file is processed without anyone re-running it."""

from pathlib import Path

from dagster import DagsterEventType

from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.lake import LocalStore, ObjectStore
from bodyfat_assets.landing_zone import LandingZone
from bodyfat_assets.partitions import landed_files_tags
from bodyfat_assets.testing.landing_files import csv_bytes


class FailsOnceStore(LocalStore):
    """The first write to processed/ fails while the flag file exists (the flag goes with it): one fault, once."""

    flag: Path

    def write_bytes(self, key: str, data: bytes) -> None:
        if key.startswith("processed/") and self.flag.exists():
            self.flag.unlink()
            raise OSError(5, "Input/output error (injected once)")
        super().write_bytes(key, data)


class FailsOnceLanding(LandingZone):
    flag_path: str

    def store(self) -> ObjectStore:
        store = FailsOnceStore(self.url)
        store.flag = Path(self.flag_path)
        return store


def test_an_ingestion_step_that_fails_once_is_retried_and_the_file_processed(harness, labeled_frame, tmp_path):
    harness.land("train/a.csv", csv_bytes(labeled_frame))
    [request] = harness.tick().run_requests
    flag = tmp_path / "fail-once"
    flag.touch()
    landing = FailsOnceLanding(lake=harness.landing.lake, flag_path=str(flag))
    result = harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=harness.instance, partition_key=request.partition_key,
        tags=landed_files_tags({request.partition_key: "a.csv"}),
        resources={"landing": landing}, raise_on_error=False)
    assert not flag.exists(), "the fault was injected"
    assert result.success
    retried = [e for e in result.all_events if e.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    assert [e.step_key for e in retried] == ["raw_bodyfat"]
    assert harness.store.list_keys("train/") == [] and harness.store.list_keys("rejected/") == []
    assert harness.store.list_keys("processed/train/") == [f"processed/train/{request.partition_key}.csv"]
