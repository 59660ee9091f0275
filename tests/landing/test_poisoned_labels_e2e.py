"""Through real processes: what a poisoned labeled file of 400 rows does to the champion (nothing).

`dagster-daemon run` with a 2 s sensor interval on a temporary home. After the seed's bootstrap, 400 plausible rows
with shuffled BodyFat land in landing/train/: the file is ingested, live_performance finds its labels suspect, the
retrain sensor keeps skipping (its rows do not count, and suspect labels are no evidence), and the champion stays.
Then an honest labeled file lands and retrains: the poisoned rows go to quarantine whole (rule `suspect_labels`),
none reaches training, and the retrain's tags name the honest file only.

Skip it with `-m "not integration"`; it takes a few minutes on two busy cores.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from dagster import AssetKey, AssetRecordsFilter, RunsFilter
from mlflow import MlflowClient

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.feed import seed_training_rows, synthetic_rows
from bodyfat_assets.lake import parquet_to_frame
from bodyfat_assets.testing.loop import BOOTSTRAP_TIMEOUT_S, STEP_TIMEOUT_S, daemon_loop
from tests.support.poisoned_labels import LIKE_THE_SEED, poisoned_file

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
QUIET_TICKS = 5
"""Retrain-sensor ticks after the poisoned file's ingestion that must all skip (10 s at a 2 s interval)."""
ENV = {"BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "log_ridge",
       "BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "2", "BODYFAT_RETRAIN_MIN_ROWS": "50",
       "BODYFAT_RETRAIN_MIN_INTERVAL_S": "0", "OMP_NUM_THREADS": "1"}
RETRAIN_JOB = "bodyfat_pipeline"


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    home = tmp_path_factory.mktemp("poison-loop")
    with daemon_loop(home, ENV) as (state, proc):
        try:
            state.wait(lambda: proc.poll() is None and state.champion_decisions(), BOOTSTRAP_TIMEOUT_S,
                       "seed ingested and a first champion")
            yield state
        finally:
            if proc.poll() is not None:
                print((home / "daemon.log").read_text()[-4000:])


def champion_version(loop) -> str:
    client = MlflowClient(loop.settings.mlflow_tracking_uri)
    return str(client.get_model_version_by_alias(loop.settings.model_name, "champion").version)


def retrain_runs(loop) -> list:
    return list(loop.instance.get_runs(RunsFilter(job_name=RETRAIN_JOB)))


def live_measure(loop, key: str) -> dict | None:
    """The metadata live_performance recorded for partition `key`, once the run that wrote it has finished."""
    records = loop.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("live_performance"), asset_partitions=[key]), limit=1).records
    if not records:
        return None
    run = loop.instance.get_run_by_id(records[0].run_id)
    if run is None or not run.is_finished:
        return None
    return {k: getattr(v, "value", v) for k, v in records[0].asset_materialization.metadata.items()}


def test_a_poisoned_file_is_quarantined_never_retrains_and_leaves_the_champion(loop, seed_frame):
    loop.wait(lambda: not any(not r.is_finished for r in retrain_runs(loop)), STEP_TIMEOUT_S,
              "the bootstrap's retraining finished")
    champion_before, retrains_before = champion_version(loop), len(retrain_runs(loop))
    decisions_before = len(loop.champion_decisions())

    data = poisoned_file(seed_frame, LIKE_THE_SEED).to_csv(index=False).encode()
    loop.landing.write_bytes("train/poisoned.csv", data)
    key = partition_key_for("poisoned.csv", content_hash(data))
    loop.wait(lambda: live_measure(loop, key), STEP_TIMEOUT_S, "the poisoned file's live_performance")
    measure = live_measure(loop, key)
    ingested_at = time.time()
    print(f"\npoisoned file {key}: " + json.dumps({k: measure.get(k) for k in (
        "rows", "rmse", "champion_test_rmse", "coverage", "outside_interval_share", "correlation", "bias",
        "suspect_labels", "evidence", "model_version")}, default=str))
    assert measure["suspect_labels"] not in ("", "no"), "the label check found the labels suspect"
    assert measure["evidence"] == "none", "suspect labels are no evidence for a retrain"

    # The retrain sensor keeps looking and keeps skipping: the 400 rows do not count.
    loop.wait(lambda: len(loop.sensor_ticks("retrain_sensor", after=ingested_at)) >= QUIET_TICKS,
              STEP_TIMEOUT_S, f"{QUIET_TICKS} retrain-sensor ticks after the ingestion")
    ticks = loop.sensor_ticks("retrain_sensor", after=ingested_at)
    assert all(not tick.run_keys for tick in ticks), [tick.skip_reason for tick in ticks]
    assert len(retrain_runs(loop)) == retrains_before, "no retrain was requested because of it"
    assert champion_version(loop) == champion_before and len(loop.champion_decisions()) == decisions_before
    print(f"retrain sensor after it: {sorted({tick.skip_reason for tick in ticks})}; champion v{champion_before}")

    # An honest file retrains: the poisoned rows go to quarantine whole and none is trained on.
    honest = synthetic_rows(60, np.random.default_rng(11), labeled=True, base=seed_training_rows(0.2, 42))
    honest_data = honest.to_csv(index=False).encode()
    loop.landing.write_bytes("train/honest.csv", honest_data)
    honest_key = partition_key_for("honest.csv", content_hash(honest_data))
    loop.wait(lambda: len(loop.champion_decisions()) > decisions_before, STEP_TIMEOUT_S,
              "a champion decision after the honest file")
    [retrain] = retrain_runs(loop)[: len(retrain_runs(loop)) - retrains_before]
    assert retrain.tags["bodyfat/new_partitions"] == honest_key, retrain.tags
    assert retrain.tags["bodyfat/retrain_reason"].startswith("60 new rows in 1 file(s)")
    quarantined = parquet_to_frame(loop.lake.read_bytes("quarantined_bodyfat.parquet"))
    held = quarantined[quarantined["source"] == key]
    assert len(held) == 400 and held["rules"].str.contains("suspect_labels").all()
    splits = parquet_to_frame(loop.lake.read_bytes("bodyfat_splits.parquet"))
    assert key not in set(splits["source"]) and honest_key in set(splits["source"])
    decision = loop.champion_decisions()[0]
    print(f"after the honest file: {decision['decision']} v{decision['challenger_version']} "
          f"({decision['reason']}); champion v{decision['champion_version']}")
