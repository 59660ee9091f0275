"""Listing the landing zone and the sensor's cursor over it (core/landing/cursor.py)."""

from bodyfat_assets.core.landing.cursor import LandedObject, LandingCursor, landed_objects, list_landed
from bodyfat_assets.lake import LocalStore, StoredObject


def test_cursor_keys_on_etag_and_forgets_what_left():
    a1, b = LandedObject("train/a.csv", "1", 10), LandedObject("score/b.csv", "2", 10)
    cursor = LandingCursor().advance([a1, b], handled=[a1, b])
    assert cursor.new_objects([a1, b]) == []
    a2 = LandedObject("train/a.csv", "changed", 10)
    assert cursor.new_objects([a2, b]) == [a2], "a re-uploaded, changed file is new"
    restored = LandingCursor.from_json(cursor.advance([b], handled=[]).to_json())
    assert restored.seen == {b.token}


def test_only_objects_under_train_and_score_are_landed():
    listed = landed_objects([
        StoredObject("train/a.csv", "abc", 3, 1.0),
        StoredObject("score/s.parquet", "def", 4, 2.0),
        StoredObject("score/2026/s.csv", "ghi", 4, 2.0),  # kept: validation rejects it with a reason
        StoredObject("processed/train/x.csv", "x", 1, 3.0),
        StoredObject("train", "d", 0, 0.0),
    ])
    assert [(o.kind, o.name, o.etag) for o in listed] == [
        ("train", "a.csv", "abc"), ("score", "s.parquet", "def"), ("score", "2026/s.csv", "ghi")]


def test_list_landed_reads_nothing_and_skips_dot_files(tmp_path):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"12345")
    store.write_bytes("processed/train/old.csv", b"1")
    (tmp_path / "score").mkdir()
    (tmp_path / "score" / ".partial.csv").write_bytes(b"half")  # a writer's temporary name
    [landed] = list_landed(store)
    assert (landed.key, landed.size) == ("train/a.csv", 5) and landed.etag

