"""A burst of small labeled files from landing/ to ingested, through the real daemon on the embedded default
(the project's dagster.yaml: SQLite, one run at a time; default sensor interval unless --interval).

    python bench/burst.py                       # 50 files x 25 rows
    python bench/burst.py --files 50 --rows 25 --interval 30

A fresh instance ingests its seed first; then the files land at once and the clock runs until every one is a
materialized raw_bodyfat partition. The instance's first training (tiny budget) and seed scoring queue meanwhile, as
on a real first day: ingestion runs go first in the queue (dagster/priority), a started run keeps its slot. Later
retraining is held back (BODYFAT_RETRAIN_MIN_ROWS above the burst's rows). Prints the seconds, the ingestion runs
used, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dagster import AssetKey, RunsFilter  # noqa: E402

from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for  # noqa: E402
from bodyfat_assets.defs.jobs import INGEST_JOB  # noqa: E402
from bodyfat_assets.feed import feed  # noqa: E402
from bodyfat_assets.testing.loop import BOOTSTRAP_TIMEOUT_S, LOOP_ENV, daemon_loop  # noqa: E402


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--interval", type=int, default=30, help="sensor interval, s (the embedded default: 30)")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    env = {**LOOP_ENV, "BODYFAT_SENSOR_INTERVAL_S": str(args.interval),
           "BODYFAT_RETRAIN_MIN_ROWS": str(args.files * args.rows + 1), "BODYFAT_RETRAIN_MIN_INTERVAL_S": "0"}
    with tempfile.TemporaryDirectory(prefix="bodyfat-burst-") as tmp, daemon_loop(Path(tmp), env) as (loop, _):
        raw = AssetKey("raw_bodyfat")
        started = time.monotonic()
        while SEED_PARTITION not in loop.instance.get_materialized_partitions(raw):
            if time.monotonic() - started > BOOTSTRAP_TIMEOUT_S:
                raise SystemExit("the instance did not bootstrap")
            time.sleep(2)
        runs_before = len(loop.instance.get_runs(RunsFilter(job_name=INGEST_JOB)))
        load_before = load()
        urls = feed(loop.settings, labeled=args.files, scoring=0, rows=args.rows, seed=11)
        landed_at = time.monotonic()
        keys = {partition_key_for(u.rsplit("/", 1)[1], content_hash(loop.landing.read_bytes(
            "train/" + u.rsplit("/", 1)[1]))) for u in urls}
        done = 0
        while done < len(keys):
            if time.monotonic() - landed_at > args.timeout:
                break
            time.sleep(1)
            done = len(keys & loop.instance.get_materialized_partitions(raw))
        seconds = time.monotonic() - landed_at
        runs = len(loop.instance.get_runs(RunsFilter(job_name=INGEST_JOB))) - runs_before
        print(f"{done} of {len(keys)} files x {args.rows} rows ingested in {seconds:.1f} s "
              f"({done / seconds * 60:.1f} files/min) in {runs} ingestion run(s); sensor interval {args.interval} s; "
              f"load average before {load_before}, after {load()} (2 cores)")


if __name__ == "__main__":
    main()
