"""A file whose ingestion failed (disk full, permission denied) can be dropped again, under the
same name or another, and is then ingested; nothing needs a hand-made re-run."""

import pytest

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.lake import LocalStore, ObjectStore
from bodyfat_assets.landing_zone import LandingZone
from bodyfat_assets.partitions import landed_files_tags
from bodyfat_assets.testing.landing_files import csv_bytes


class DiskFullStore(LocalStore):
    def write_bytes(self, key: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")


class DiskFullLanding(LandingZone):
    def store(self) -> ObjectStore:
        return DiskFullStore(self.url)


def ingest(harness, partition_key: str, name: str, landing: LandingZone) -> bool:
    return harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=harness.instance, partition_key=partition_key, tags=landed_files_tags({partition_key: name}),
        resources={"landing": landing}, raise_on_error=False).success


@pytest.fixture
def failed_once(harness, labeled_frame):
    """`train/a.csv` accepted, then its ingestion failed on a full disk: the file is still in train/."""
    data = csv_bytes(labeled_frame)
    harness.land("train/a.csv", data)
    [request] = harness.tick().run_requests
    assert not ingest(harness, request.partition_key, "a.csv", DiskFullLanding(lake=harness.landing.lake))
    assert harness.store.read_bytes("train/a.csv") == data
    return data


def test_the_same_file_dropped_again_is_ingested(harness, failed_once):
    harness.land("train/a.csv", failed_once)  # the sender drops it again
    [retry] = harness.tick().run_requests
    assert retry.partition_key == partition_key_for("a.csv", content_hash(failed_once))
    assert ingest(harness, retry.partition_key, "a.csv", harness.landing)
    assert harness.store.list_keys("train/") == [] and harness.store.list_keys("rejected/") == []


def test_the_same_bytes_under_another_name_are_ingested(harness, failed_once):
    harness.land("train/a-again.csv", failed_once)
    [retry] = harness.tick().run_requests
    assert retry.partition_key == partition_key_for("a-again.csv", content_hash(failed_once))
    assert harness.store.list_keys("rejected/") == [], "not a duplicate of a file that was never ingested"
    assert ingest(harness, retry.partition_key, "a-again.csv", harness.landing)


def test_once_ingested_the_same_bytes_are_a_duplicate(harness, failed_once):
    harness.land("train/a.csv", failed_once)
    [retry] = harness.tick().run_requests
    assert ingest(harness, retry.partition_key, "a.csv", harness.landing)
    harness.land("train/copy.csv", failed_once)
    assert harness.tick().run_requests == []
    assert [k for k in harness.store.list_keys("rejected/train/") if k.endswith("copy.csv")]
