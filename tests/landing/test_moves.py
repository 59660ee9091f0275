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
