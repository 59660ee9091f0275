"""Scoring a large file: the project's path against plain pyarrow + `model.predict` on the same file.

    python bench/scoring.py                      # 1M rows (about 80 MB of CSV)
    python bench/scoring.py --rows 1000000 --rows 10000000

project: the landing sensor's tick (`take_in`: a file above 64 MB is classified from its head and a fingerprint),
then the run body that `batch_predictions` calls (`scoring_source` → `score_file`, streamed in batches of
BODYFAT_SCORING_BATCH_ROWS, every row checked against the feature contract → publish with `put_file` → move the
file to processed/), in one process without Dagster's run machinery.
plain: `pyarrow.csv.read_csv` of the whole file → `model.predict` → `pyarrow.parquet.write_table`, no checks.

The model is the `log_lasso` family fitted on the seed rows (a pipeline of the kind the champion is). Each path runs
in a fresh process; peak RSS is its VmHWM (imports included). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bodyfat_assets.testing.landing_files import write_scoring_csv  # noqa: E402  (the generator the tests use)

HALF_WIDTH = 7.0


def fit_model(path: Path) -> None:
    from bodyfat_contract import FEATURE_NAMES

    from bodyfat_assets.core.families import build_pipeline
    from bodyfat_assets.settings import BODYFAT_CSV

    seed = pd.read_csv(BODYFAT_CSV)
    model = build_pipeline("log_lasso", {"alpha": 0.01}).fit(seed[list(FEATURE_NAMES)], seed["BodyFat"])
    path.write_bytes(pickle.dumps(model))


def peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent that wrote the test file.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def project_path(root: Path, model_path: Path) -> dict[str, float]:
    from bodyfat_contract import FEATURE_NAMES

    from bodyfat_assets.core.landing.cursor import LandingCursor
    from bodyfat_assets.core.landing.intake import ACCEPT, take_in
    from bodyfat_assets.core.scoring.source import scoring_source
    from bodyfat_assets.core.scoring.stream import score_file
    from bodyfat_assets.lake import LocalStore
    from bodyfat_assets.settings import BODYFAT_CSV, Settings

    model = pickle.loads(model_path.read_bytes())
    landing, lake = LocalStore(root / "lake" / "landing"), LocalStore(root / "lake")
    started = time.perf_counter()
    [verdict] = take_in(landing, LandingCursor(), dict, min_age_s=0).verdicts
    tick_s = time.perf_counter() - started
    assert verdict.action == ACCEPT, verdict
    source = scoring_source(landing, verdict.partition_key, verdict.obj.name, BODYFAT_CSV)
    output = root / "staged.parquet"
    with source.open() as file:
        summary = score_file(file, source.name, verdict.partition_key, model,
                             {"features": list(FEATURE_NAMES), "interval_half_width_90": HALF_WIDTH}, "1", output,
                             Settings.from_env().scoring.batch_rows)
    lake.put_file(f"predictions/{verdict.partition_key}.parquet", output)
    source.mark_processed(verdict.partition_key)
    return {"seconds": time.perf_counter() - started, "tick_s": tick_s, "rows": summary.rows,
            "peak_rss_mb": peak_rss_mb()}


def plain_path(root: Path, model_path: Path) -> dict[str, float]:
    import pyarrow.parquet as pq
    from bodyfat_contract import FEATURE_NAMES

    model = pickle.loads(model_path.read_bytes())
    [csv_path] = (root / "lake" / "landing" / "score").glob("*.csv")
    started = time.perf_counter()
    table = pacsv.read_csv(csv_path)
    prediction = model.predict(table.select(list(FEATURE_NAMES)).to_pandas())
    out = pa.table({"id": table["id"], "prediction": prediction, "lower_90": prediction - HALF_WIDTH,
                    "upper_90": prediction + HALF_WIDTH})
    pq.write_table(out, root / "plain.parquet")
    return {"seconds": time.perf_counter() - started, "rows": len(prediction), "peak_rss_mb": peak_rss_mb()}


def run_case(path_name: str, root: Path, model_path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--case", path_name, str(root), str(model_path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append", default=None)
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)  # internal: path name, root, model
    args = parser.parse_args()
    if args.case:
        case = {"project": project_path, "plain": plain_path}[args.case[0]]
        print(json.dumps(case(Path(args.case[1]), Path(args.case[2]))))
        return
    print("| rows | CSV MB | plain: s, rows/s, peak RSS MB | project: tick s, total s, rows/s, peak RSS MB "
          "| rows/s ratio | RSS ratio |")
    print("|---|---|---|---|---|---|")
    for rows in args.rows or [1_000_000]:
        with tempfile.TemporaryDirectory(prefix="bodyfat-bench-scoring-") as tmp:
            root, model_path = Path(tmp), Path(tmp) / "model.pkl"
            csv_path = root / "lake" / "landing" / "score" / "nightly.csv"
            csv_path.parent.mkdir(parents=True)
            write_scoring_csv(csv_path, rows)
            fit_model(model_path)
            size_mb = csv_path.stat().st_size / 1e6
            plain = run_case("plain", root, model_path)
            project = run_case("project", root, model_path)
            assert plain["rows"] == project["rows"] == rows
            plain_rate, project_rate = rows / plain["seconds"], rows / project["seconds"]
            print(f"| {rows:,} | {size_mb:.0f} | {plain['seconds']:.1f} s, {plain_rate:,.0f}, "
                  f"{plain['peak_rss_mb']:.0f} | {project['tick_s']:.2f} s, {project['seconds']:.1f} s, "
                  f"{project_rate:,.0f}, {project['peak_rss_mb']:.0f} | {project_rate / plain_rate:.2f} "
                  f"| {project['peak_rss_mb'] / plain['peak_rss_mb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
