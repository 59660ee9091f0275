"""Half-written files: a local file still being written is accepted only once
it is whole, and a run whose file changed after it was accepted drops its partition instead of failing for ever,
while the sensor registers the new content.

In-process: the landing sensor evaluated once a second (as the daemon would with a 1 s interval) while a writer
thread appends rows to a CSV in place for 10 s, or pauses mid-line.
"""

import os
import threading
import time

import pytest
from dagster import DagsterInstance

from bodyfat_assets.core.landing.intake import MIN_FILE_AGE_S
from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.partitions import LABELED_FILES, landed_files_tags
from bodyfat_assets.testing.landing_files import csv_bytes
from tests.support.sensor_harness import Harness

WRITE_FOR_S = 10.0
TICK_EVERY_S = 1.0


@pytest.fixture
def harness(tmp_path) -> Harness:
    """The production rule for local files: whole when unchanged across two listings or MIN_FILE_AGE_S old."""
    h = Harness(tmp_path, min_file_age_s=MIN_FILE_AGE_S)
    h.tick()  # registers the seed partitions
    return h


def append_slowly(path, data: bytes, seconds: float) -> None:
    """Write `data` into `path` in place, a slice at a time, spread over `seconds` (a slow exporter or copy)."""
    slices = 50
    step = -(-len(data) // slices)
    with open(path, "ab") as out:
        for start in range(0, len(data), step):
            out.write(data[start:start + step])
            out.flush()
            time.sleep(seconds / slices)


def run_requests_while(harness: Harness, writer: threading.Thread, settle_ticks: int) -> list:
    """Tick every second while the writer writes, then `settle_ticks` more; every run request made."""
    requests = []
    writer.start()
    extra = 0
    while writer.is_alive() or extra < settle_ticks:
        extra += 0 if writer.is_alive() else 1
        requests += [r for r in harness.tick().run_requests if r.partition_key != "seed"]
        time.sleep(TICK_EVERY_S)
    writer.join()
    return requests


def test_a_file_written_for_ten_seconds_is_accepted_once_and_whole(harness, labeled_frame):
    data = csv_bytes(labeled_frame)
    path = harness.store.root / "train" / "slow.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = threading.Thread(target=append_slowly, args=(path, data, WRITE_FOR_S))
    requests = run_requests_while(harness, writer, settle_ticks=int(MIN_FILE_AGE_S) + 2)
    whole = partition_key_for("slow.csv", content_hash(data))
    assert [r.partition_key for r in requests] == [whole], "one request, for the whole file, never for a part"
    assert [p for p in harness.partitions("train") if p != "seed"] == [whole]
    result = harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=harness.instance, partition_key=whole, tags=requests[0].tags,
        resources={"landing": harness.landing})
    assert result.success and harness.store.list_keys("train/") == []
    assert harness.store.read_bytes(f"processed/train/{whole}.csv") == data


def write_with_a_pause(path, data: bytes, pause_s: float) -> None:
    """Half the file, cut in the middle of a line, then a pause (a stalled upload), then the rest."""
    half = data.index(b"\n", len(data) // 2) - 3
    with open(path, "ab") as out:
        out.write(data[:half])
        out.flush()
        time.sleep(pause_s)
        out.write(data[half:])


def test_a_writer_pausing_mid_line_gets_its_file_accepted_whole(harness, labeled_frame):
    """A pause of a few ticks (shorter than the minimum age) never splits the file."""
    data = csv_bytes(labeled_frame)
    path = harness.store.root / "train" / "paused.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = threading.Thread(target=write_with_a_pause, args=(path, data, MIN_FILE_AGE_S - 2))
    requests = run_requests_while(harness, writer, settle_ticks=int(MIN_FILE_AGE_S) + 2)
    assert [r.partition_key for r in requests] == [partition_key_for("paused.csv", content_hash(data))]
    assert harness.store.list_keys("rejected/") == [], "no part of it rejected"


def test_a_run_whose_file_changed_drops_its_partition_and_the_new_content_is_registered(harness, labeled_frame):
    first, second = csv_bytes(labeled_frame.iloc[:10]), csv_bytes(labeled_frame)
    path = harness.store.root / "train" / "grows.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(first)
    old = time.time() - 3600
    os.utime(path, (old, old))  # an old file: whole by any rule, accepted on first sight
    [request] = harness.tick().run_requests
    stale = partition_key_for("grows.csv", content_hash(first))
    assert request.partition_key == stale
    path.write_bytes(second)  # the sender rewrites it before the run starts

    instance: DagsterInstance = harness.instance
    failed = harness.defs.resolve_job_def(INGEST_JOB).execute_in_process(
        instance=instance, partition_key=stale, tags=landed_files_tags({stale: "grows.csv"}),
        resources={"landing": harness.landing}, raise_on_error=False)
    assert not failed.success
    [failure] = failed.get_step_failure_events()
    assert "deletes partition" in failure.step_failure_data.error.message
    assert stale in instance.get_dynamic_partitions(LABELED_FILES.name), "a run never changes the partitions"
    requests = list(harness.tick().run_requests)  # the landing sensor owns the partitions' lifecycle
    assert stale not in instance.get_dynamic_partitions(LABELED_FILES.name), "no orphan partition left to retry"
    assert harness.store.read_bytes("train/grows.csv") == second, "the changed file is never lost"

    for _ in range(int(MIN_FILE_AGE_S) + 3):  # until the sensor sees it settled (quiet for the minimum age)
        if requests:
            break
        time.sleep(TICK_EVERY_S)
        requests += harness.tick().run_requests
    assert [r.partition_key for r in requests] == [partition_key_for("grows.csv", content_hash(second))]
