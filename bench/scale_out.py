"""The same batch of scoring files through one Celery worker and through two (the Celery profile,
docker/dagster.celery.yaml, as local processes: bodyfat_assets/testing/celery_profile.py). Prints files/s for
each, the ratio and the load average. Needs the machine's PostgreSQL and Redis.

    python bench/scale_out.py                        # 8 files x 200,000 rows
    python bench/scale_out.py --files 8 --rows 1000000

Each worker count gets a fresh instance, a champion trained first, and its own queue; the clock runs from the last
file landed to the last run finished (sensor tick, queue, Celery, the run's process, scoring). On 2 cores two workers
cannot reach 2x: they share the cores with the daemon, PostgreSQL and Redis.
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

from dagster import DagsterRunStatus  # noqa: E402

from bodyfat_assets.testing.celery_profile import celery_profile  # noqa: E402
from bodyfat_assets.testing.services import wait_until  # noqa: E402


def files_per_second(workers: int, files: int, rows: int) -> float:
    with tempfile.TemporaryDirectory(prefix="bodyfat-scale-out-") as tmp, \
            celery_profile(Path(tmp), workers) as profile:
        names = {f"batch-{i}.csv" for i in range(files)}
        for i, name in enumerate(sorted(names)):
            profile.land_scoring_file(name, rows + i)  # distinct bytes: not duplicates
        started = time.monotonic()

        def finished() -> bool:
            runs = profile.scoring_runs(names)
            return len(runs) == files and all(run.is_finished for run in runs)

        wait_until(finished, 3600, f"{files} scoring runs on {workers} worker(s)", 1.0)
        seconds = time.monotonic() - started
        runs = profile.scoring_runs(names)
        failed = [run.run_id for run in runs if run.status != DagsterRunStatus.SUCCESS]
        if failed:
            raise SystemExit(f"runs failed: {failed}")
        per_worker = [sum(profile.worker_of(run.run_id) == i for run in runs) for i in range(workers)]
        print(f"{workers} worker(s): {files} files x {rows:,} rows in {seconds:.1f} s = {files / seconds:.3f} files/s "
              f"(runs per worker {per_worker}; load average {os.getloadavg()[0]:.1f})", flush=True)
        return files / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    load_before = os.getloadavg()
    one = files_per_second(1, args.files, args.rows)
    two = files_per_second(2, args.files, args.rows)
    print(f"ratio 2 workers / 1 worker: {two / one:.2f}x; load average before {load_before[0]:.1f}, "
          f"after {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
