"""`bodyfat health` on the embedded default: wall time and CPU time of the whole command, as a user runs it.

    python bench/health_cli.py                    # against ./.bodyfat (after `make demo`)
    python bench/health_cli.py --home /tmp/state  # another BODYFAT_HOME
    python bench/health_cli.py --runs 5

Each run is a fresh process (imports included: they were most of the cost). CPU time (user + system) says what
the command costs on a quiet machine; wall time also counts waiting for the cores other processes hold. Prints a
Markdown table and the median.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bodyfat_assets.settings import process_environment  # noqa: E402  (the one reader of the environment)


def one_run(home: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `python -m bodyfat_assets.cli health`."""
    env = process_environment(BODYFAT_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bodyfat_assets.cli", "health"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=ROOT / ".bodyfat", help="BODYFAT_HOME of a `make demo`")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (args.home / "dagster" / "dagster.yaml").exists():
        raise SystemExit(f"no Dagster instance under {args.home}: run `make demo` first")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print("| run | wall s | CPU s |\n|---|---|---|")
    results = []
    for run in range(1, args.runs + 1):
        wall, cpu = one_run(args.home)
        results.append((wall, cpu))
        print(f"| {run} | {wall:.2f} | {cpu:.2f} |")
    print(f"\nmedian: {statistics.median(w for w, _ in results):.2f} s wall, "
          f"{statistics.median(c for _, c in results):.2f} s CPU")


if __name__ == "__main__":
    main()
