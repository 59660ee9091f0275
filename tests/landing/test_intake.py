"""The landing sensor's decision without Dagster (core/landing/intake.py): classify, then take in a whole tick."""

import time

from bodyfat_assets.core.landing.cursor import LandedObject, LandingCursor
from bodyfat_assets.core.landing.intake import ACCEPT, REJECT, SKIP, KnownPartitions, classify, take_in
from bodyfat_assets.lake import LocalStore
from bodyfat_assets.testing.landing_files import csv_bytes


def seed_only() -> dict[str, KnownPartitions]:
    return {kind: KnownPartitions(ingested=frozenset({"seed"})) for kind in ("train", "score")}


def nothing_known() -> dict[str, KnownPartitions]:
    return {}


def test_classify_accepts_skips_in_flight_and_rejects_duplicates(labeled_frame):
    data = csv_bytes(labeled_frame)
    obj = LandedObject("train/a.csv", "etag1", len(data))
    accepted = classify(obj, data, KnownPartitions(ingested=frozenset({"seed"})))
    assert accepted.action == ACCEPT and accepted.rows == 20
    key = accepted.partition_key
    assert classify(obj, data, KnownPartitions(in_flight=frozenset({key}))).action == SKIP
    reupload = classify(obj, data, KnownPartitions(ingested=frozenset({key})))
    assert reupload.action == REJECT and reupload.code == "duplicate_content"
    for known in (KnownPartitions(ingested=frozenset({key})), KnownPartitions(in_flight=frozenset({key}))):
        renamed = classify(LandedObject("train/copy.csv", "etag1", len(data)), data, known)
        assert renamed.code == "duplicate_content" and key in renamed.detail
    same_tick = classify(LandedObject("train/b.csv", "e", 1), data, KnownPartitions(), accepted_this_tick=[key])
    assert same_tick.code == "duplicate_content"


def test_a_partition_never_ingested_and_not_in_flight_is_accepted_again(labeled_frame):
    """Its run failed (disk full): the same file, or the same bytes under another name, is a retry."""
    data = csv_bytes(labeled_frame)
    failed = classify(LandedObject("train/a.csv", "1", len(data)), data, KnownPartitions()).partition_key
    retried = classify(LandedObject("train/a.csv", "2", len(data)), data, KnownPartitions())
    assert retried.action == ACCEPT and retried.partition_key == failed
    assert classify(LandedObject("train/b.csv", "3", len(data)), data, KnownPartitions()).action == ACCEPT


def test_a_tick_accepts_rejects_and_moves_the_rejected(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    store.write_bytes("train/good.csv", csv_bytes(labeled_frame))
    store.write_bytes("train/twin.csv", csv_bytes(labeled_frame))
    store.write_bytes("score/bad.csv", b"")
    intake = take_in(store, LandingCursor(), seed_only, min_age_s=0)
    assert [(v.obj.key, v.action, v.code) for v in intake.verdicts] == [  # smallest first, then by key
        ("score/bad.csv", REJECT, "empty"), ("train/good.csv", ACCEPT, ""), ("train/twin.csv", REJECT,
                                                                              "duplicate_content")]
    assert [v.obj.key for v in intake.accepted("train")] == ["train/good.csv"] and intake.accepted("score") == []
    assert store.list_keys("train/") == ["train/good.csv"], "accepted files stay for their run; rejected ones move"
    assert all(store.exists(v.moved_to) for v in intake.verdicts if v.action == REJECT)
    again = take_in(store, intake.cursor, seed_only, min_age_s=0)
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
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0)
    assert [v.obj.key for v in intake.verdicts] == ["train/ok.csv"]
    assert "PermissionError" in intake.failures["train/locked.csv"]
    retried = take_in(store, intake.cursor, nothing_known, min_age_s=0)
    assert list(retried.failures) == ["train/locked.csv"], "not in the cursor: tried again next tick"


def test_an_empty_landing_zone_reads_nothing_and_asks_nothing(tmp_path):
    class NoReads(LocalStore):
        def read_bytes(self, key: str) -> bytes:
            raise AssertionError(f"read {key}")

    def no_questions() -> dict:
        raise AssertionError("asked for known partitions")

    intake = take_in(NoReads(tmp_path), LandingCursor(), no_questions)
    assert intake.verdicts == [] and intake.cursor.seen == set()


def test_a_young_local_file_waits_until_quiet_and_a_store_of_whole_objects_does_not(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", csv_bytes(labeled_frame))
    now = time.time()
    first = take_in(store, LandingCursor(), nothing_known, now=now, min_age_s=60)
    assert first.verdicts == [] and [o.key for o in first.settling] == ["train/a.csv"]
    second = take_in(store, first.cursor, nothing_known, now=now + 1, min_age_s=60)
    assert second.verdicts == [], "unchanged but still young: a paused writer may resume"
    third = take_in(store, second.cursor, nothing_known, now=now + 61, min_age_s=60)
    assert [v.action for v in third.verdicts] == [ACCEPT] and third.settling == []

    class WholeStore(LocalStore):
        whole_when_listed = True

    assert [v.action for v in take_in(WholeStore(tmp_path), LandingCursor(), nothing_known, now=now,
                                      min_age_s=60).verdicts] == [ACCEPT]


def test_a_file_that_grew_between_listing_and_reading_is_not_taken(tmp_path, labeled_frame):
    class GrowingStore(LocalStore):
        def read_bytes(self, key: str) -> bytes:
            return super().read_bytes(key) + b"1,2,3\n"  # the writer appended meanwhile

    store = GrowingStore(tmp_path)
    store.write_bytes("train/a.csv", csv_bytes(labeled_frame))
    intake = take_in(store, LandingCursor(), nothing_known, min_age_s=0)
    assert intake.verdicts == [] and [o.key for o in intake.settling] == ["train/a.csv"]
    assert store.list_keys("train/") == ["train/a.csv"], "nothing moved, nothing rejected"
