"""Large files and the tick budget: a large file is classified from its head or
footer and keyed by a fingerprint of sampled blocks, never read whole by the tick unless the fingerprint matches a
known partition; small files go first; a tick that used its budget leaves the rest for the next one. Thresholds are
lowered so that a file of a few hundred kB is "large"."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from bodyfat_assets.core.landing.cursor import LandingCursor
from bodyfat_assets.core.landing.identity import (
    FINGERPRINT_BLOCK_BYTES,
    FINGERPRINT_BLOCKS,
    fingerprint,
    fingerprint_offsets,
)
from bodyfat_assets.core.landing.intake import ACCEPT, REJECT, KnownPartitions, take_in
from bodyfat_assets.core.landing.naming import PROCESSED, TRAIN, content_hash, partition_key_for, processed_key
from bodyfat_assets.core.landing.partition_file import locate_partition_file
from bodyfat_assets.core.landing.sample import SAMPLE_BYTES
from bodyfat_assets.lake import LocalStore
from bodyfat_assets.testing.landing_files import csv_bytes, parquet_bytes, write_scoring_csv

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


def test_a_large_csv_is_accepted_from_its_head_and_a_fingerprint(tmp_path, labeled_frame):
    """The tick reads the head and the sampled blocks, about 2 MB whatever the size (it hashed every
    byte before: 5.1 s for a 10M-row file). The run finds the file again by the same key."""
    store = CountingStore(tmp_path)
    data = csv_bytes(big(labeled_frame, 3_000))  # 60,000 rows, about 4.5 MB
    store.write_bytes("train/big.csv", data)
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert verdict.action == ACCEPT and store.whole_reads == [], "never read whole by the tick"
    assert store.range_bytes <= SAMPLE_BYTES + FINGERPRINT_BLOCKS * FINGERPRINT_BLOCK_BYTES < len(data) / 2
    assert verdict.partition_key == partition_key_for("big.csv", fingerprint(store, "train/big.csv", len(data)))
    assert verdict.partition_key != partition_key_for("big.csv", content_hash(data)), "not a full-content hash"
    assert locate_partition_file(store, TRAIN, verdict.partition_key, None) == ("train/big.csv", False)


def test_the_run_finds_a_small_landed_file_reading_its_bytes_once(tmp_path, labeled_frame):
    """A small file is keyed by its full hash, so its run tries that first: no fingerprint reads (on S3, 16
    requests) before it."""
    store = CountingStore(tmp_path)
    data = csv_bytes(labeled_frame)
    store.write_bytes("train/small.csv", data)
    key = partition_key_for("small.csv", content_hash(data))
    assert locate_partition_file(store, TRAIN, key, None) == ("train/small.csv", False)
    assert store.range_bytes == len(data)


def ingested_as_processed(store: LocalStore, landed_key: str, partition_key: str) -> KnownPartitions:
    """What the run of an accepted file leaves: its bytes in processed/, its partition materialized."""
    store.move(landed_key, processed_key(TRAIN, partition_key, landed_key.split("/", 1)[1]))
    return KnownPartitions(ingested=frozenset({partition_key}))


def test_a_large_file_landed_again_under_another_name_is_a_duplicate(tmp_path, labeled_frame):
    store = CountingStore(tmp_path)
    data = csv_bytes(big(labeled_frame, 3_000))
    store.write_bytes("train/monday.csv", data)
    [first] = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE).verdicts
    known = ingested_as_processed(store, "train/monday.csv", first.partition_key)
    store.write_bytes("train/monday-again.csv", data)
    [again] = take_in(store, LandingCursor(), lambda: {TRAIN: known}, min_age_s=0, full_check_bytes=LARGE).verdicts
    assert (again.action, again.code) == (REJECT, "duplicate_content") and first.partition_key in again.detail
    assert store.list_keys("train/") == [] and store.exists(again.moved_to), "kept in rejected/, with its reason"


def changed_outside_the_samples(data: bytes) -> bytes:
    """`data` with one digit changed where no sampled block reads: same size, same fingerprint, other rows."""
    sampled = [(start, start + FINGERPRINT_BLOCK_BYTES) for start in fingerprint_offsets(len(data))]
    for at in range(len(data) // 2, len(data)):
        if data[at:at + 1] in b"12345678" and not any(lo <= at < hi for lo, hi in sampled):
            return data[:at] + str(int(data[at:at + 1]) + 1).encode() + data[at + 1:]
    raise AssertionError("no unsampled digit")


def test_a_corrected_large_file_that_differs_only_outside_the_samples_is_a_new_partition(tmp_path, labeled_frame):
    """A fingerprint is only a claim: a matching one is checked against the stored file in full, and a file with
    other bytes is keyed by its full hash, accepted, and found again by its run."""
    store = CountingStore(tmp_path)
    data = csv_bytes(big(labeled_frame, 3_000))
    store.write_bytes("train/export.csv", data)
    [first] = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE).verdicts
    known = ingested_as_processed(store, "train/export.csv", first.partition_key)
    corrected = changed_outside_the_samples(data)
    store.write_bytes("train/export.csv", corrected)
    assert fingerprint(store, "train/export.csv", len(corrected)) == \
        fingerprint(store, f"{PROCESSED}/train/{first.partition_key}.csv", len(data)), "the samples agree"
    [second] = take_in(store, LandingCursor(), lambda: {TRAIN: known}, min_age_s=0, full_check_bytes=LARGE).verdicts
    assert second.action == ACCEPT and second.partition_key == partition_key_for("export.csv", content_hash(corrected))
    assert locate_partition_file(store, TRAIN, second.partition_key, "export.csv") == ("train/export.csv", False)


def test_a_large_csv_with_a_wrong_header_is_rejected_without_reading_its_body(tmp_path, labeled_frame):
    store = CountingStore(tmp_path)
    store.write_bytes("train/waist.csv", csv_bytes(big(labeled_frame.rename(columns={"Abdomen": "Waist"}), 200)))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert (verdict.action, verdict.code) == (REJECT, "wrong_header")
    assert store.range_bytes <= SAMPLE_BYTES and store.whole_reads == [], "classified from the head, moved unread"


def test_a_large_scoring_csv_with_a_wrong_header_is_rejected_from_its_head(tmp_path, labeled_frame):
    """The tick rejects a scoring file's wrong header from the first megabyte, never parsing the body."""
    store = CountingStore(tmp_path)
    frame = big(labeled_frame.drop(columns=["BodyFat"]).rename(columns={"Wrist": "Wrists"}), 200)
    store.write_bytes("score/nightly.csv", csv_bytes(frame))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0, full_check_bytes=LARGE)
    [verdict] = intake.verdicts
    assert (verdict.action, verdict.code) == (REJECT, "wrong_header") and "Wrists" in verdict.detail
    assert store.range_bytes <= SAMPLE_BYTES and store.whole_reads == [], "classified from the head, moved unread"


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
    """The real landing sensor, evaluated in a process of its own (as the code server does), classifies
    a 5M-row scoring CSV (about 400 MB) from its head and a fingerprint. Peak RSS is VmHWM, imports included."""
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
