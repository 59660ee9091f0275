"""`bodyfat health` on a probe-like instance: a champion, then a +8 shift whose challenger is blocked, a retrain
that failed, a scoring file nobody handles. The report must say each, bad news first, never "SUCCESS" alone."""

import io
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES
from dagster import AssetCheckSeverity, DagsterInstance

from bodyfat_assets.cli import prepare_dagster_home
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB
from bodyfat_assets.defs.model.checks import CHAMPION_FITS
from bodyfat_assets.feed import landing_store
from bodyfat_assets.health_cli import gather
from bodyfat_assets.lake import LocalStore, frame_to_parquet, store_from_url
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.landing_files import csv_bytes, repeated_measurements
from bodyfat_assets.testing.pipeline_runs import land_and_run, run_job
from serving.model_store import LoadedModel
from serving.prediction_log import Entry, object_key, to_columns, to_parquet

pytestmark = pytest.mark.e2e

# Age and Height alone, k-NN: test RMSE ~8, above the 6.0 ceiling, so the gate blocks it.
BLOCKED = {"ops": {"tuned_model": {"config": {"features": ["Age", "Height"], "families": ["knn"], "n_trials": 2}}}}


def serve(lake_url: str, rows: pd.DataFrame, version: str) -> list[str]:
    """What the API logs when `version` answers each of `rows` with 25 ± 7 and a shadow challenger (v9) would have
    said 22: the log writer's own encoding, with the two shadow columns an API scoring a shadow adds."""
    model = LoadedModel("bodyfat", version, "registry", None, FEATURE_NAMES, half_width=7.0)
    ids = [f"p{i}" for i in range(len(rows))]
    now = time.time()
    entries = [Entry(pid, now, "/predict", model, tuple(row), 25.0)
               for pid, row in zip(ids, rows[list(FEATURE_NAMES)].itertuples(index=False), strict=True)]
    logged = pd.read_parquet(io.BytesIO(to_parquet(to_columns(entries))))
    logged = logged.assign(shadow_model_version="9", shadow_prediction=22.0)
    LocalStore(lake_url).write_bytes(object_key(now - now % 3600), frame_to_parquet(logged))
    return ids


@pytest.fixture(scope="module")
def probe(tmp_path_factory, seed_frame_module):
    home = tmp_path_factory.mktemp("probe")
    settings = Settings.from_env({"BODYFAT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
                                  "BODYFAT_TRIALS": "6", "BODYFAT_CV_FOLDS": "3", "BODYFAT_SERVED_MIN_LABELS": "12"})
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
        assert run_job(settings, instance, INGEST_JOB, SEED_PARTITION).success
        assert run_job(settings, instance, PIPELINE_JOB).success  # v1 promoted
        served = serve(settings.lake_url, seed_frame_module.head(12), version="1")
        labels = pd.DataFrame({"prediction_id": [*served, "never-served"], "BodyFat": [20.0] * 13})
        land_and_run(settings, instance, "labels", "dexa.csv", labels)
        shifted = repeated_measurements(seed_frame_module, 400, 8).assign(BodyFat=lambda f: f["BodyFat"] + 8)
        key, _ = land_and_run(settings, instance, "train", "clinic-shift.csv", shifted[shifted["BodyFat"] <= 55])
        blocked = run_job(settings, instance, PIPELINE_JOB, run_config=BLOCKED)
        assert blocked.success  # a blocked challenger is a green run: the report must not stop there
        lake = store_from_url(settings.lake_url)
        raw = f"raw_bodyfat/{key}.parquet"
        data = lake.read_bytes(raw)
        lake.delete(raw)  # the lake loses a partition: the retrain fails at once, naming it
        assert not run_job(settings, instance, PIPELINE_JOB).success
        lake.write_bytes(raw, data)
        landing_store(settings).write_bytes("score/forgotten.csv", csv_bytes(seed_frame_module.head(5)))
        hour_ago = time.time() - 3600
        os.utime(home / "lake" / "landing" / "score" / "forgotten.csv", (hour_ago, hour_ago))
        yield settings, instance, blocked


@pytest.fixture(scope="module")
def seed_frame_module():
    import pandas as pd

    from bodyfat_assets.settings import BODYFAT_CSV
    return pd.read_csv(BODYFAT_CSV)


def test_the_shifted_world_fails_the_champion_fit_check_as_a_warning(probe):
    _, _, blocked = probe
    check = next(c for c in blocked.get_asset_check_evaluations() if c.check_name == CHAMPION_FITS)
    assert not check.passed and check.severity == AssetCheckSeverity.WARN
    assert "world has shifted" in check.description and "blocked" in check.description


def test_champion_reports_the_served_model_and_its_shadow_on_the_same_labeled_rows(probe):
    _, _, blocked = probe
    [decision] = blocked.asset_materializations_for_node("champion")
    evidence = decision.metadata["served_evidence"].value
    assert evidence == "on 12 labeled served rows: v1 (served) RMSE 5.000, v9 (shadow) RMSE 2.000", evidence
    [pair] = decision.metadata["served_comparison"].value.records
    assert (pair.data["model_version"], pair.data["shadow_model_version"], pair.data["rows"]) == ("1", "9", 12)


def test_health_tells_the_bad_news(probe):
    settings, instance, _ = probe
    text = gather(settings, instance)
    print("\n" + text)
    lines = text.splitlines()
    assert lines[0].startswith("STATE: CHAMPION DOES NOT FIT CURRENT DATA: the world has shifted"), text
    assert "RMSE" in lines[1] and "on today's test split" in lines[1] and "at promotion" in lines[1], text
    assert lines[1].startswith("champion: v1 (") and "(?)" not in lines[1], text  # the family, from the records
    assert "last retrain run: FAILURE" in text
    assert "BLOCKED challenger v2; champion stays v1 (blocked by rmse_below_ceiling" in text, text
    assert "PROMOTED challenger v1" in text
    assert "failed runs since the last successful retrain" in text and "bodyfat_pipeline run" in text
    assert "were materialized but their data is missing" in text, text
    assert "stuck files (in landing/ with no run in flight and no reason beside them): 1" in text
    assert "score/forgotten.csv, 1.0 h in landing/" in text
    assert "last retrain: SUCCESS" not in text
    assert "served performance on labels (12 matched, 1 unmatched, 0 quarantined):" in text, text
    assert "  v1: 12 rows, RMSE 5.00, MAE 5.00, bias -5.00, coverage 1.00" in text, text


def test_the_health_command_reads_records_without_the_ml_stack():
    """`bodyfat health` took 28-36 s: it imported MLflow, Optuna, scikit-learn, matplotlib and scipy.stats (10 s of
    CPU of its 13.6) and loaded the champion to re-score it. It reads records now; bench/health_cli.py times it."""
    heavy = ("mlflow", "optuna", "sklearn", "matplotlib", "scipy.stats", "skops")
    probe = ("import sys, bodyfat_assets.cli, bodyfat_assets.health_cli; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"bodyfat health imports {loaded}"
