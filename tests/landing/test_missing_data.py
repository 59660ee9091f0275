"""A raw partition that was materialized but whose stored data is gone fails the run that needs it,
naming the partition; a partition registered but never materialized (its run failed or has not run) is skipped."""

from dagster import AssetKey

from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB
from bodyfat_assets.lake import LocalStore
from bodyfat_assets.partitions import LABELED_FILES, landed_files_tags
from bodyfat_assets.testing.landing_files import csv_bytes

CLEANING = [AssetKey("cleaned_bodyfat"), AssetKey("quarantined_bodyfat")]


def ingest(harness, partition_key: str, name: str | None = None) -> None:
    result = harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=harness.instance, partition_key=partition_key,
        tags=landed_files_tags({partition_key: name}) if name else {},
        resources={"landing": harness.landing}, raise_on_error=False)
    assert result.success


def clean(harness):
    return harness.defs.resolve_job_def(PIPELINE_JOB).execute_in_process(
        instance=harness.instance, asset_selection=CLEANING, raise_on_error=False)


def test_a_materialized_partition_whose_data_is_missing_fails_the_retrain_naming_it(harness, labeled_frame):
    ingest(harness, SEED_PARTITION)
    harness.land("train/a.csv", csv_bytes(labeled_frame))
    [request] = harness.tick().run_requests
    ingest(harness, request.partition_key, "a.csv")
    assert clean(harness).success
    lake = LocalStore(harness.settings.lake_url)
    last_good = lake.read_bytes("cleaned_bodyfat.parquet")
    lake.delete(f"raw_bodyfat/{SEED_PARTITION}.parquet")  # the seed's stored rows are gone

    result = clean(harness)
    assert not result.success, "training on 20 of 272 rows and going green loses the seed without a word"
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = str(failure.step_failure_data.error.message)
    assert f"raw_bodyfat/{SEED_PARTITION}" in message or f"['{SEED_PARTITION}']" in message
    assert "missing" in message
    assert lake.read_bytes("cleaned_bodyfat.parquet") == last_good, "a failed run leaves the last good state"


def test_a_registered_partition_never_materialized_is_skipped(harness):
    ingest(harness, SEED_PARTITION)
    harness.instance.add_dynamic_partitions(LABELED_FILES.name, ["never-ingested-0123456789ab"])
    result = clean(harness)
    assert result.success
