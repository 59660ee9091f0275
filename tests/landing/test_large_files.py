"""Large files and the tick budget (issue 15 item 2, issue 12 item 1): a large file is classified from its head or
footer and a chunked hash, never read whole by the tick; small files go first; a tick that used its budget leaves
the rest for the next one. Thresholds are lowered so that a file of a few hundred kB is "large"."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bodyfat_assets.core.landing.cursor import LandingCursor
from bodyfat_assets.core.landing.intake import ACCEPT, REJECT, KnownPartitions, take_in
from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.core.landing.sample import SAMPLE_BYTES
from bodyfat_assets.lake import LocalStore
from tests.support.landing_files import csv_bytes, parquet_bytes, write_scoring_csv

LARGE = 16_000  # bytes: full_check_bytes for these tests


class CountingStore(LocalStore):
    """Records whole reads by key and how many bytes ranged reads returned."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.whole_reads: list[str] = []
        self.range_bytes = 0

    def read_bytes(self, key: str) -> bytes:
        self.whole_reads.append(key)
        return super().read_bytes(key)

    def size_of(self, key: str) -> int:
        return (self.root / key).stat().st_size

    def read_range(self, key: str, start: int, length: int) -> bytes:
        data = super().read_range(key, start, length)
        self.range_bytes += len(data)
        return data


def nothing_known() -> dict[str, KnownPartitions]:
    return {}


def big(frame: pd.DataFrame, copies: int) -> pd.DataFrame:
    """`copies` copies of `frame`, each value jittered by up to 1 % so that Parquet cannot compress them away."""
    rows = pd.concat([frame] * copies, ignore_index=True)
    noise = np.random.default_rng(0).uniform(0.99, 1.01, rows.shape)
    return (rows * noise).round(2)


def test_a_large_csv_is_accepted_from_its_head_and_a_chunked_hash(tmp_path, labeled_frame):
    store = CountingStore(tmp_path)
    data = csv_bytes(big(labeled_frame, 200))  # 4,000 rows, about 300 kB
    store.write_bytes("train/big.csv", data)
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert verdict.action == ACCEPT and store.whole_reads == [], "never read whole by the tick"
    assert verdict.partition_key == partition_key_for("big.csv", content_hash(data)), "same identity as a small file"


def test_a_large_csv_with_a_wrong_header_is_rejected_without_reading_its_body(tmp_path, labeled_frame):
    store = CountingStore(tmp_path)
    store.write_bytes("train/waist.csv", csv_bytes(big(labeled_frame.rename(columns={"Abdomen": "Waist"}), 200)))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert (verdict.action, verdict.code) == (REJECT, "wrong_header")
    assert store.range_bytes <= SAMPLE_BYTES, "classified from the head; only the move to rejected/ copies it"


def test_a_large_scoring_csv_with_a_wrong_header_is_rejected_from_its_head(tmp_path, labeled_frame):
    """Issue 12: the tick rejects a scoring file's wrong header from the first megabyte, never parsing the body."""
    store = CountingStore(tmp_path)
    frame = big(labeled_frame.drop(columns=["BodyFat"]).rename(columns={"Wrist": "Wrists"}), 200)
    store.write_bytes("score/nightly.csv", csv_bytes(frame))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert (verdict.action, verdict.code) == (REJECT, "wrong_header") and "Wrists" in verdict.detail
    assert store.range_bytes <= SAMPLE_BYTES, "classified from the head; only the move to rejected/ copies it"


def test_a_large_parquet_file_is_classified_from_its_footer(tmp_path, labeled_frame):
    store = CountingStore(tmp_path)
    store.write_bytes("score/big.parquet", parquet_bytes(big(labeled_frame.drop(columns=["BodyFat"]), 500)))
    store.write_bytes("score/bad.parquet", parquet_bytes(big(labeled_frame.rename(columns={"Hip": "Hips"}), 500)))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    verdicts = {v.obj.name: v for v in intake.verdicts}
    assert verdicts["big.parquet"].action == ACCEPT and verdicts["big.parquet"].rows == 10_000
    assert verdicts["bad.parquet"].code == "wrong_header"
    assert store.size_of("score/big.parquet") > LARGE and "score/big.parquet" not in store.whole_reads


def test_small_files_go_first_and_a_spent_budget_defers_the_rest(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a-huge.csv", csv_bytes(big(labeled_frame, 50)))
    store.write_bytes("train/z-small.csv", csv_bytes(labeled_frame.iloc[:5]))
    first = take_in(store, LandingCursor(), nothing_known, min_age_s=0, budget_s=0)
    assert [v.obj.name for v in first.verdicts] == ["z-small.csv"], "the small file is not held up"
    assert [o.name for o in first.deferred] == ["a-huge.csv"]
    second = take_in(store, first.cursor, nothing_known, min_age_s=0, budget_s=0)
    assert [(v.obj.name, v.action) for v in second.verdicts] == [("a-huge.csv", ACCEPT)], "deferred, not lost"


TICK_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from tests.support.sensor_harness import Harness

harness = Harness(Path(sys.argv[1]))
harness.tick()
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
print(json.dumps({"partitions": harness.partitions("score"), "peak_rss_kb": int(status["VmHWM"].split()[0])}))
"""
CODE_SERVER_LIMIT_MB = 500
MANY_ROWS = 5_000_000


def test_a_five_million_row_scoring_file_never_takes_the_tick_above_500_mb(tmp_path):
    """Issue 14.14: the real landing sensor, evaluated in a process of its own (as the code server does), classifies
    a 5M-row scoring CSV (about 400 MB) from its head and a chunked hash. Peak RSS is VmHWM, imports included."""
    landed = tmp_path / "lake" / "landing" / "score" / "nightly.csv"
    landed.parent.mkdir(parents=True)
    write_scoring_csv(landed, MANY_ROWS)
    assert landed.stat().st_size > 300e6
    out = subprocess.run([sys.executable, "-c", TICK_IN_A_FRESH_PROCESS, str(tmp_path)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2]).stdout
    result = json.loads(out.splitlines()[-1])
    assert any(key.startswith("nightly-") for key in result["partitions"]), "accepted and registered"
    print(f"tick of a {landed.stat().st_size / 1e6:.0f} MB, {MANY_ROWS:,}-row CSV: peak RSS "
          f"{result['peak_rss_kb'] / 1024:.0f} MB")
    assert result["peak_rss_kb"] / 1024 < CODE_SERVER_LIMIT_MB
