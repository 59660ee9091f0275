"""The landing sensor's classification of one new scoring file, by file size: the tick as shipped (files above
FULL_CHECK_BYTES from a sample and a fingerprint of sampled blocks) against reading every file whole (the earlier
behaviour).

    python bench/landing_tick.py                 # 10k, 1M and 3M rows (~0.8, 80, 240 MB of CSV)
    python bench/landing_tick.py --rows 10000000 # add a size (about 800 MB of CSV, a few minutes to write)

Each case runs in a fresh process; peak RSS is its VmHWM (imports included, about 130 MB). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bodyfat_assets.testing.landing_files import write_scoring_csv  # noqa: E402  (the suite's generator: one copy)


def one_tick(root: str, full_check_bytes: int) -> dict:
    from bodyfat_assets.core.landing.cursor import LandingCursor
    from bodyfat_assets.core.landing.intake import take_in
    from bodyfat_assets.lake import LocalStore

    started = time.perf_counter()
    intake = take_in(LocalStore(root), LandingCursor(), dict, min_age_s=0, full_check_bytes=full_check_bytes,
                     budget_s=1e9)
    seconds = time.perf_counter() - started
    [verdict] = intake.verdicts
    return {"seconds": seconds, "action": verdict.action, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent that wrote the test file.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append", default=None)
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # internal: root, full_check_bytes
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_tick(args.case[0], int(args.case[1]))))
        return
    from bodyfat_assets.core.landing.identity import FULL_CHECK_BYTES

    print("| rows | CSV MB | tick as shipped: s, peak RSS MB | whole-file read: s, peak RSS MB |")
    print("|---|---|---|---|")
    for rows in args.rows or [10_000, 1_000_000, 3_000_000]:
        with tempfile.TemporaryDirectory() as root:
            path = Path(root) / "score" / "big.csv"
            path.parent.mkdir()
            write_scoring_csv(path, rows)
            cells = []
            for threshold in (FULL_CHECK_BYTES, 1 << 62):
                out = subprocess.run([sys.executable, __file__, "--case", root, str(threshold)], check=True,
                                     capture_output=True, text=True).stdout
                result = json.loads(out)
                cells.append(f"{result['seconds']:.2f} s, {result['peak_rss_mb']:.0f} MB ({result['action']})")
            print(f"| {rows:,} | {path.stat().st_size / 1e6:.0f} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
