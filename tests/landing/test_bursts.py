"""A burst of labeled files: accepted in one tick, ingested in one run over their partitions, each partition with its
own rows, metadata and processed file (the run requested by the landing sensor, executed on the harness instance)."""

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from bodyfat_assets.core.landing.batches import AcceptedFile, ingestion_batches
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.partitions import landed_files
from bodyfat_assets.testing.landing_files import csv_bytes


def files(*sizes: int) -> list[AcceptedFile]:
    return [AcceptedFile(f"f{i}-0123456789ab", f"f{i}.csv", size) for i, size in enumerate(sizes)]


def test_batches_keep_order_and_stay_within_their_bounds():
    batches = ingestion_batches(files(10, 20, 30, 100, 5, 5), max_bytes=60, max_files=3)
    assert [[f.size for f in batch] for batch in batches] == [[10, 20, 30], [100], [5, 5]]
    assert ingestion_batches(files(1, 1, 1, 1), max_bytes=60, max_files=3)[1][0].partition_key == "f3-0123456789ab"
    assert ingestion_batches([]) == []


def materializations(instance: DagsterInstance, asset: str, keys: list[str]) -> dict[str, dict]:
    """Partition → the metadata of its latest materialization."""
    found = {}
    for key in keys:
        [record] = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=[key]), limit=1).records or [None]
        if record is not None:
            found[key] = {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}
    return found


def test_a_burst_is_ingested_in_one_run_each_partition_with_its_own_rows(harness, labeled_frame):
    sizes = {"a.csv": 3, "b.csv": 5, "c.csv": 8, "d.csv": 13}
    for name, rows in sizes.items():
        harness.land(f"train/{name}", csv_bytes(labeled_frame.iloc[:rows]))
    [request] = harness.tick().run_requests
    names = landed_files(request.tags)
    assert sorted(names.values()) == sorted(sizes), "four files, one run request naming each"
    keys = list(names)
    assert harness.partitions("train")[-4:] == keys, "registered adjacent, in the run's order"

    result = harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=harness.instance, tags=request.tags, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert len(harness.instance.get_runs()) == 1, "fewer runs than files: one"

    raw = materializations(harness.instance, "raw_bodyfat", keys)
    assert {names[key]: meta["rows"] for key, meta in raw.items()} == sizes, "each partition with its own rows"
    assert all(meta["source_file"].endswith(f"processed/train/{key}.csv") for key, meta in raw.items())
    live = materializations(harness.instance, "live_performance", keys)
    assert set(live) == set(keys)
    lake = store_from_url(harness.settings.lake_url)
    for key in keys:
        frame = parquet_to_frame(lake.read_bytes(f"raw_bodyfat/{key}.parquet"))
        assert len(frame) == sizes[names[key]] and set(frame["source"]) == {key}
        assert len(parquet_to_frame(lake.read_bytes(f"live_performance/{key}.parquet"))) == 1
    assert harness.store.list_keys("train/") == [], "every file moved to processed/"
    assert SEED_PARTITION not in raw and not harness.instance.get_materialized_partitions(AssetKey("raw_bodyfat")) \
        - set(keys), "only the burst's partitions: the range covered nothing else"
