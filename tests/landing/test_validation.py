"""The landing contract as plain functions: parsing, validation, names, cursor, moves, debounce, staleness."""

from datetime import UTC, datetime

import numpy as np
import pytest

from bodyfat_assets import landing as lz
from bodyfat_assets.lake import LocalStore
from tests.landing.conftest import BAD_NAMES, bad_files, csv_bytes, parquet_bytes


def test_a_labeled_csv_and_the_same_rows_as_parquet_are_accepted(labeled_frame):
    for name, data in (("a.csv", csv_bytes(labeled_frame)), ("a.parquet", parquet_bytes(labeled_frame))):
        frame = lz.read_landed_file(lz.TRAIN, name, data)
        assert len(frame) == 20 and frame["Weight"].dtype == float


def test_header_matching_ignores_case_and_spaces(labeled_frame):
    shouted = labeled_frame.rename(columns=lambda c: f" {c.upper()} ")
    frame = lz.read_landed_file(lz.TRAIN, "a.csv", csv_bytes(shouted))
    assert list(frame.columns) == list(labeled_frame.columns)


def test_scoring_file_needs_predictors_only_and_keeps_the_senders_id(labeled_frame):
    scoring = labeled_frame.drop(columns=["BodyFat"]).assign(id=[f"p{i}" for i in range(20)])
    frame = lz.read_landed_file(lz.SCORE, "s.csv", csv_bytes(scoring))
    rows = lz.scoring_rows(frame, "s-abc")
    assert list(rows["id"][:2]) == ["p0", "p1"] and list(rows["row_id"][:2]) == [1, 2]
    with pytest.raises(lz.Reject) as missing_target:
        lz.read_landed_file(lz.TRAIN, "s.csv", csv_bytes(scoring))
    assert missing_target.value.code == "wrong_header" and "BodyFat" in missing_target.value.detail


@pytest.mark.parametrize("name", BAD_NAMES)
def test_each_bad_kind_is_rejected_with_its_code(name, labeled_frame):
    code, data = bad_files(labeled_frame)[name]
    with pytest.raises(lz.Reject) as rejection:
        lz.read_landed_file(lz.TRAIN, name, data)
    assert rejection.value.code == code and rejection.value.detail
    assert code in lz.REJECTION_CODES


def test_a_few_bad_rows_pass_validation_and_are_left_to_quarantine(labeled_frame):
    few = labeled_frame.astype({"Weight": object})
    few.loc[0, "Weight"] = "heavy"
    few.loc[1, "Height"] = 29.5
    frame = lz.read_landed_file(lz.TRAIN, "few.csv", csv_bytes(few))
    assert np.isnan(frame.loc[0, "Weight"]) and frame.loc[1, "Height"] == 29.5


def test_sub_folders_are_refused(labeled_frame):
    with pytest.raises(lz.Reject, match="unsupported_location"):
        lz.read_landed_file(lz.TRAIN, "2026/a.csv", csv_bytes(labeled_frame))


def test_partition_keys_follow_name_and_content():
    key = lz.partition_key_for("Batch 7 (final).csv", lz.content_hash(b"x"))
    assert key.startswith("Batch_7_final-") and lz.hash_of_partition(key) == lz.content_hash(b"x")[:12]
    assert lz.partition_key_for("a.csv", lz.content_hash(b"y")) != lz.partition_key_for("a.csv", lz.content_hash(b"x"))
    assert "..." not in lz.partition_key_for("a....csv", "0" * 64)
    assert lz.hash_of_partition("seed") is None


def test_classify_accepts_skips_in_flight_and_rejects_duplicates(labeled_frame):
    data = csv_bytes(labeled_frame)
    obj = lz.LandedObject("train/a.csv", "etag1", len(data))
    accepted = lz.classify(obj, data, existing_partitions=["seed"])
    assert accepted.action == "accept" and accepted.rows == 20
    in_flight = lz.classify(obj, data, existing_partitions=["seed", accepted.partition_key])
    assert in_flight.action == "skip"
    reupload = lz.classify(obj, data, [accepted.partition_key], processed_partitions=[accepted.partition_key])
    assert reupload.action == "reject" and reupload.code == "duplicate_content"
    renamed = lz.classify(lz.LandedObject("train/copy.csv", "etag1", len(data)), data, [accepted.partition_key])
    assert renamed.code == "duplicate_content" and accepted.partition_key in renamed.detail
    same_tick = lz.classify(lz.LandedObject("train/b.csv", "e", 1), data, [],
                            accepted_this_tick=[accepted.partition_key])
    assert same_tick.code == "duplicate_content"


def test_cursor_keys_on_etag_and_forgets_what_left():
    a1, b = lz.LandedObject("train/a.csv", "1", 10), lz.LandedObject("score/b.csv", "2", 10)
    cursor = lz.LandingCursor().advance([a1, b], handled=[a1, b])
    assert cursor.new_objects([a1, b]) == []
    a2 = lz.LandedObject("train/a.csv", "changed", 10)
    assert cursor.new_objects([a2, b]) == [a2], "a re-uploaded, changed file is new"
    restored = lz.LandingCursor.from_json(cursor.advance([b], handled=[]).to_json())
    assert restored.seen == {b.token}


def test_listing_entries_from_s3():
    listed = lz.landed_from_listing([
        {"Key": "lake/landing/train/a.csv", "ETag": '"abc"', "Size": 3},
        {"Key": "lake/landing/score/s.parquet", "ETag": '"def"', "Size": 4},
        {"Key": "lake/landing/processed/train/x.csv", "ETag": '"x"', "Size": 1},
        {"Key": "lake/landing/train/", "ETag": '"d"', "Size": 0},
    ], "lake/landing")
    assert [(o.kind, o.name, o.etag) for o in listed] == [("train", "a.csv", "abc"), ("score", "s.parquet", "def")]


def test_move_copies_verifies_then_deletes(tmp_path):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"data")
    lz.move_object(store, "train/a.csv", "processed/train/a-1.csv")
    assert not store.exists("train/a.csv") and store.read_bytes("processed/train/a-1.csv") == b"data"


def test_a_failed_copy_keeps_the_original(tmp_path):
    class CorruptingStore(LocalStore):
        def write_bytes(self, key: str, data: bytes) -> None:
            super().write_bytes(key, data[:-1])

    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"data")
    with pytest.raises(OSError, match="original kept"):
        lz.move_object(CorruptingStore(tmp_path), "train/a.csv", "processed/train/a.csv")
    assert store.read_bytes("train/a.csv") == b"data"


def test_rejection_writes_the_reason_beside_the_file(tmp_path):
    store = LocalStore(tmp_path)
    store.write_bytes("score/x.txt", b"hello")
    verdict = lz.Verdict(lz.LandedObject("score/x.txt", "e", 5), "reject", code="unsupported_format", detail="x.txt")
    destination = lz.reject_object(store, verdict, b"hello", when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert destination == "rejected/score/20260102T030405000000Z-x.txt" and not store.exists("score/x.txt")
    import json

    reason = json.loads(store.read_bytes(f"{destination}.reason.json"))
    assert reason["reason"] == "unsupported_format" and reason["file"].endswith("score/x.txt")


def test_raw_rows_carry_source_row_id_and_synthetic(labeled_frame):
    rows = lz.raw_rows(labeled_frame.assign(synthetic=True), "batch-abc")
    assert set(rows["source"]) == {"batch-abc"} and list(rows["row_id"][:3]) == [1, 2, 3]
    assert rows["Density"].isna().all() and rows["synthetic"].all()


def test_locate_prefers_the_processed_copy(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    data = csv_bytes(labeled_frame)
    key = lz.partition_key_for("a.csv", lz.content_hash(data))
    store.write_bytes("train/a.csv", data)
    assert lz.locate_partition_file(store, lz.TRAIN, key, None) == ("train/a.csv", False)
    lz.move_object(store, "train/a.csv", lz.processed_key(lz.TRAIN, key, "a.csv"))
    assert lz.locate_partition_file(store, lz.TRAIN, key, "a.csv") == (f"processed/train/{key}.csv", True)
    with pytest.raises(FileNotFoundError):
        lz.locate_partition_file(store, lz.TRAIN, "gone-000000000000", "gone.csv")


@pytest.mark.parametrize(("rows", "files", "since", "expected"), [
    (0, 0, None, False),      # nothing new
    (10, 1, None, True),      # no model yet: any data trains the first
    (10, 1, 9999, False),     # too few rows
    (60, 2, 30, False),       # enough rows, too soon
    (60, 2, 600, True),       # enough rows, long enough
])
def test_retrain_debounce(rows, files, since, expected):
    decision = lz.retrain_decision(rows, files, since, min_rows=50, min_interval_s=600)
    assert decision.retrain is expected and decision.reason


def test_stale_scoring_partitions():
    assert lz.stale_scoring_partitions(["seed", "a", "b"], {"seed": "2", "a": "1"}, "2") == ["a", "b"]
    assert lz.stale_scoring_partitions(["seed"], {}, None) == []
