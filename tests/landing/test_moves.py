"""Copy, verify, delete; rejection with its reason (core/landing/moves.py)."""

import json
from datetime import UTC, datetime

import pytest

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.moves import move_object, reject_object
from bodyfat_assets.lake import LocalStore


def test_move_copies_verifies_then_deletes(tmp_path):
    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"data")
    move_object(store, "train/a.csv", "processed/train/a-1.csv")
    assert not store.exists("train/a.csv") and store.read_bytes("processed/train/a-1.csv") == b"data"


def test_a_failed_copy_keeps_the_original(tmp_path):
    class CorruptingStore(LocalStore):
        def write_bytes(self, key: str, data: bytes) -> None:
            super().write_bytes(key, data[:-1])

    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"data")
    with pytest.raises(OSError, match="original kept"):
        move_object(CorruptingStore(tmp_path), "train/a.csv", "processed/train/a.csv")
    assert store.read_bytes("train/a.csv") == b"data"


def test_rejection_writes_the_reason_beside_the_file(tmp_path):
    store = LocalStore(tmp_path)
    store.write_bytes("score/x.txt", b"hello")
    destination = reject_object(store, LandedObject("score/x.txt", "e", 5), "unsupported_format", "x.txt",
                                b"hello", when=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert destination == "rejected/score/20260102T030405000000Z-x.txt" and not store.exists("score/x.txt")
    assert store.read_bytes(destination) == b"hello"
    reason = json.loads(store.read_bytes(f"{destination}.reason.json"))
    assert reason["reason"] == "unsupported_format" and reason["file"].endswith("score/x.txt")
    assert reason["meaning"] and reason["size"] == 5


def test_an_original_that_cannot_be_deleted_is_not_left_in_both_places(tmp_path):
    """After a failed delete the file was in train/ and processed/; the move is retried whole."""
    class UndeletableStore(LocalStore):
        def delete(self, key: str) -> None:
            if key.startswith("train/"):
                raise PermissionError(13, "Permission denied", key)
            super().delete(key)

    store = LocalStore(tmp_path)
    store.write_bytes("train/a.csv", b"data")
    with pytest.raises(PermissionError):
        move_object(UndeletableStore(tmp_path), "train/a.csv", "processed/train/a-1.csv")
    assert store.list_keys("train/") == ["train/a.csv"] and store.list_keys("processed/") == []


def test_a_write_that_fails_on_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The partial dot-file of a write that failed stayed behind (hidden from listings)."""
    from pathlib import Path

    real_write = Path.write_bytes

    def full_disk(self, data):
        real_write(self, data[: len(data) // 2])  # part of it reached the disk
        raise OSError(28, "No space left on device")

    store = LocalStore(tmp_path)
    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store.write_bytes("processed/train/a-1.csv", b"0123456789")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []
