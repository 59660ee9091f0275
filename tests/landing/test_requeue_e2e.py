"""Through the daemon: a labeled file whose run fails for a reason outside it (here the lake refuses the write of
its raw partition) is asked for again by the landing sensor. Once the cause is gone the request again ingests it;
while it stays, the file ends in rejected/ with `run_failed` and the last error. Before, both files sat unmaterialized
with no run and no reason, for ever.

Skip it with `-m "not integration"`; it takes a few minutes on two busy cores.
"""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest
from dagster import DagsterRunStatus, RunsFilter

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.core.landing.requeue import REQUEUE_TAG
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.feed import away_from, seed_train_and_test_rows, synthetic_rows
from bodyfat_assets.partitions import landed_files
from bodyfat_assets.testing.loop import BOOTSTRAP_TIMEOUT_S, LOOP_ENV, STEP_TIMEOUT_S, daemon_loop
from bodyfat_assets.testing.services import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
# No retraining: only ingestion runs compete for the slot. One request again, 3 s after the failure.
REQUEUE_ENV = {**LOOP_ENV, "BODYFAT_RETRAIN_MIN_ROWS": "1000000", "BODYFAT_REQUEUE_MAX": "1",
               "BODYFAT_REQUEUE_WAIT_S": "3"}


def labeled_file(seed: int) -> bytes:
    train, test = seed_train_and_test_rows(0.2, 42)
    rng = np.random.default_rng(seed)
    return away_from(synthetic_rows(20, rng, labeled=True, base=train), test, rng, train).to_csv(index=False).encode()


def test_a_file_whose_run_failed_outside_it_is_asked_for_again_then_rejected_with_the_error(tmp_path):
    with daemon_loop(tmp_path, REQUEUE_ENV) as (loop, proc):
        files = {name: labeled_file(seed) for name, seed in (("recovers.csv", 1), ("stays-broken.csv", 2))}
        keys = {name: partition_key_for(name, content_hash(data)) for name, data in files.items()}
        # A directory where each raw partition's Parquet file goes: the IO manager's write fails, whatever the file.
        blocked = {name: loop.lake.root / "raw_bodyfat" / f"{key}.parquet" for name, key in keys.items()}
        for path in blocked.values():
            path.mkdir(parents=True)
        for name, data in files.items():
            loop.landing.write_bytes(f"train/{name}", data)

        def runs_of(name: str) -> list:  # the two files landed together: their first run is one, holding both
            return [r for r in loop.instance.get_runs(RunsFilter(job_name=INGEST_JOB))
                    if keys[name] in landed_files(r.tags)]

        wait_until(lambda: any(r.status == DagsterRunStatus.FAILURE for r in runs_of("recovers.csv")),
                   BOOTSTRAP_TIMEOUT_S, "the first run of recovers.csv to fail", interval_s=1)
        failed_at = time.monotonic()
        shutil.rmtree(blocked["recovers.csv"])  # the cause goes away
        first = runs_of("recovers.csv")[-1]
        assert set(landed_files(first.tags)) == set(keys.values()), "landed together, ingested in one run"

        wait_until(lambda: any(r.status == DagsterRunStatus.SUCCESS for r in runs_of("recovers.csv")), STEP_TIMEOUT_S,
                   "recovers.csv ingested by the request again", interval_s=1)
        print(f"\nfailure to ingested by the request again: {time.monotonic() - failed_at:.1f} s")
        [again] = [r for r in runs_of("recovers.csv") if r.status == DagsterRunStatus.SUCCESS]
        assert again.tags[REQUEUE_TAG] == "1" and set(landed_files(again.tags).values()) == {"recovers.csv"}
        assert loop.lake.exists(f"raw_bodyfat/{keys['recovers.csv']}.parquet")

        def rejection() -> dict | None:
            keys_ = [k for k in loop.landing.list_keys("rejected/train/") if k.endswith("stays-broken.csv.reason.json")]
            return json.loads(loop.landing.read_bytes(keys_[0])) if keys_ else None

        wait_until(rejection, STEP_TIMEOUT_S, "stays-broken.csv rejected as run_failed", interval_s=1)
        reason = rejection()
        assert reason["reason"] == "run_failed" and "failed 2 times" in reason["detail"], reason
        assert "IsADirectoryError" in reason["detail"], "the last error is the step's own, not only 'run failed'"
        statuses = [r.status for r in runs_of("stays-broken.csv")]
        assert statuses == [DagsterRunStatus.FAILURE] * 2, "its run and one request again, both failed"
        # Nothing of it is left behind unexplained: not in train/, not in processed/.
        assert not loop.landing.list_keys("train/")
        assert not [k for k in loop.landing.list_keys("processed/train/") if keys["stays-broken.csv"] in k]
        assert proc.poll() is None
