"""The landing sensor's decision without Dagster (core/landing/intake.py): classify, then take in a whole tick."""

import time

import pytest

from bodyfat_assets.core.landing.cursor import LandedObject, LandingCursor
from bodyfat_assets.core.landing.intake import ACCEPT, REJECT, SKIP, classify, take_in
from bodyfat_assets.lake import LocalStore
from tests.support.landing_files import csv_bytes


def test_classify_accepts_skips_in_flight_and_rejects_duplicates(labeled_frame):
    data = csv_bytes(labeled_frame)
    obj = LandedObject("train/a.csv", "etag1", len(data))
    accepted = classify(obj, data, existing_partitions=["seed"])
    assert accepted.action == ACCEPT and accepted.rows == 20
    in_flight = classify(obj, data, existing_partitions=["seed", accepted.partition_key])
    assert in_flight.action == SKIP
    reupload = classify(obj, data, [accepted.partition_key], processed_partitions=[accepted.partition_key])
    assert reupload.action == REJECT and reupload.code == "duplicate_content"
    renamed = classify(LandedObject("train/copy.csv", "etag1", len(data)), data, [accepted.partition_key])
    assert renamed.code == "duplicate_content" and accepted.partition_key in renamed.detail
    same_tick = classify(LandedObject("train/b.csv", "e", 1), data, [], accepted_this_tick=[accepted.partition_key])
    assert same_tick.code == "duplicate_content"


def test_a_tick_accepts_rejects_and_moves_the_rejected(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    store.write_bytes("train/good.csv", csv_bytes(labeled_frame))
    store.write_bytes("train/twin.csv", csv_bytes(labeled_frame))
    store.write_bytes("score/bad.csv", b"")
    intake = take_in(store, LandingCursor(), {"train": ["seed"], "score": ["seed"]}, min_age_s=0)
    assert [(v.obj.key, v.action, v.code) for v in intake.verdicts] == [
        ("train/good.csv", ACCEPT, ""), ("train/twin.csv", REJECT, "duplicate_content"), ("score/bad.csv", REJECT,
                                                                                         "empty")]
    assert [v.obj.key for v in intake.accepted("train")] == ["train/good.csv"] and intake.accepted("score") == []
    assert store.list_keys("train/") == ["train/good.csv"], "accepted files stay for their run; rejected ones move"
    assert all(store.exists(v.moved_to) for v in intake.verdicts if v.action == REJECT)
    again = take_in(store, intake.cursor, {"train": ["seed"], "score": ["seed"]}, min_age_s=0)
    assert again.verdicts == [] and again.failures == {}, "the cursor remembers what it handled"


def test_an_object_that_cannot_be_read_is_retried_and_blocks_nothing(tmp_path, labeled_frame):
    class FlakyStore(LocalStore):
        def read_bytes(self, key: str) -> bytes:
            if key == "train/locked.csv":
                raise PermissionError("locked")
            return super().read_bytes(key)

    store = FlakyStore(tmp_path)
    store.write_bytes("train/locked.csv", b"x")
    store.write_bytes("train/ok.csv", csv_bytes(labeled_frame))
    intake = take_in(store, LandingCursor(), {"train": []}, min_age_s=0)
    assert [v.obj.key for v in intake.verdicts] == ["train/ok.csv"]
    assert "PermissionError" in intake.failures["train/locked.csv"]
    retried = take_in(store, intake.cursor, {"train": []}, min_age_s=0)
    assert list(retried.failures) == ["train/locked.csv"], "not in the cursor: tried again next tick"


@pytest.mark.parametrize("existing", [{}, {"train": ["seed"]}])
def test_an_empty_landing_zone_reads_nothing(tmp_path, existing):
    class NoReads(LocalStore):
        def read_bytes(self, key: str) -> bytes:
            raise AssertionError(f"read {key}")

    intake = take_in(NoReads(tmp_path), LandingCursor(), existing)
    assert intake.verdicts == [] and intake.cursor.seen == set()


def test_a_young_local_file_waits_until_quiet_and_a_store_of_whole_objects_does_not(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", csv_bytes(labeled_frame))
    now = time.time()
    first = take_in(store, LandingCursor(), {"train": []}, now=now, min_age_s=60)
    assert first.verdicts == [] and [o.key for o in first.settling] == ["train/a.csv"]
    second = take_in(store, first.cursor, {"train": []}, now=now + 1, min_age_s=60)
    assert second.verdicts == [], "unchanged but still young: a paused writer may resume"
    third = take_in(store, second.cursor, {"train": []}, now=now + 61, min_age_s=60)
    assert [v.action for v in third.verdicts] == [ACCEPT] and third.settling == []

    class WholeStore(LocalStore):
        whole_when_listed = True

    assert [v.action for v in take_in(WholeStore(tmp_path), LandingCursor(), {"train": []}, now=now,
                                      min_age_s=60).verdicts] == [ACCEPT]


def test_a_file_that_grew_between_listing_and_reading_is_not_taken(tmp_path, labeled_frame):
    class GrowingStore(LocalStore):
        def read_bytes(self, key: str) -> bytes:
            return super().read_bytes(key) + b"1,2,3\n"  # the writer appended meanwhile

    store = GrowingStore(tmp_path)
    store.write_bytes("train/a.csv", csv_bytes(labeled_frame))
    intake = take_in(store, LandingCursor(), {"train": []}, min_age_s=0)
    assert intake.verdicts == [] and [o.key for o in intake.settling] == ["train/a.csv"]
    assert store.list_keys("train/") == ["train/a.csv"], "nothing moved, nothing rejected"
