"""`bodyfat withdraw` through real runs: after a withdrawal, re-materializing cleaned_bodyfat and bodyfat_splits
leaves the file's rows out, quarantined_bodyfat names the reason, and raw_bodyfat keeps the file for audit."""

import pytest
from dagster import AssetKey, DagsterInstance

from bodyfat_assets.cli import main, prepare_dagster_home
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.landing_files import repeated_measurements
from bodyfat_assets.testing.pipeline_runs import land_and_run, run_job

pytestmark = pytest.mark.e2e

DATA_ONLY = [AssetKey(k) for k in ("cleaned_bodyfat", "quarantined_bodyfat", "bodyfat_splits")]
REASON = "clinic B's scale read 5 kg high in January"


def clean_and_split(settings: Settings, instance: DagsterInstance) -> None:
    result = build_definitions(settings).resolve_job_def(PIPELINE_JOB).execute_in_process(
        instance=instance, asset_selection=DATA_ONLY, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]


def lake_frame(settings: Settings, key: str):
    return parquet_to_frame(store_from_url(settings.lake_url).read_bytes(key))


def test_a_withdrawn_file_leaves_the_next_retrain_with_its_reason(tmp_path, monkeypatch, seed_frame, capsys):
    monkeypatch.setenv("BODYFAT_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    settings = Settings.from_env()
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
        assert run_job(settings, instance, INGEST_JOB, SEED_PARTITION).success
        key, _ = land_and_run(settings, instance, "train", "clinic-b.csv", repeated_measurements(seed_frame, 30, 3))
        clean_and_split(settings, instance)
        assert (lake_frame(settings, "cleaned_bodyfat.parquet")["source"] == key).sum() == 30

        assert main(["withdraw", SEED_PARTITION, "--reason", "no"]) == 2  # the trusted holdout stays
        assert main(["withdraw", key, "--reason", REASON]) == 0
        assert f"{key} withdrawn" in capsys.readouterr().out
        clean_and_split(settings, instance)

    cleaned, splits = lake_frame(settings, "cleaned_bodyfat.parquet"), lake_frame(settings, "bodyfat_splits.parquet")
    assert key not in set(cleaned["source"]) and key not in set(splits["source"])
    assert SEED_PARTITION in set(splits["source"])
    held = lake_frame(settings, "quarantined_bodyfat.parquet").query("source == @key")
    assert len(held) == 30 and set(held["rules"]) == {"withdrawn"}
    assert set(held["reasons"]) == {f"withdrawn: {REASON}"}
    assert len(lake_frame(settings, f"raw_bodyfat/{key}.parquet")) == 30  # kept for audit
