"""The file behind a run's partition (core/landing/partition_file.py)."""

import pytest

from bodyfat_assets.core.landing.moves import move_object
from bodyfat_assets.core.landing.naming import TRAIN, content_hash, partition_key_for, processed_key
from bodyfat_assets.core.landing.partition_file import load_partition_file, locate_partition_file
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.lake import LocalStore
from bodyfat_assets.settings import BODYFAT_CSV
from bodyfat_assets.testing.landing_files import csv_bytes


def test_locate_prefers_the_processed_copy(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    data = csv_bytes(labeled_frame)
    key = partition_key_for("a.csv", content_hash(data))
    store.write_bytes("train/a.csv", data)
    assert locate_partition_file(store, TRAIN, key, None) == ("train/a.csv", False)
    move_object(store, "train/a.csv", processed_key(TRAIN, key, "a.csv"))
    assert locate_partition_file(store, TRAIN, key, "a.csv") == (f"processed/train/{key}.csv", True)
    with pytest.raises(FileNotFoundError):
        locate_partition_file(store, TRAIN, "gone-000000000000", "gone.csv")


def test_load_moves_the_original_once_and_then_reads_the_processed_copy(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    data = csv_bytes(labeled_frame)
    key = partition_key_for("a.csv", content_hash(data))
    store.write_bytes("train/a.csv", data)
    first = load_partition_file(store, TRAIN, key, "a.csv", BODYFAT_CSV)
    assert len(first.frame) == 20 and first.moved_from == f"{store.url}/train/a.csv"
    assert store.list_keys("train/") == [] and first.location == f"{store.url}/processed/train/{key}.csv"
    again = load_partition_file(store, TRAIN, key, "a.csv", BODYFAT_CSV)
    assert again.moved_from is None and again.location == first.location and again.sha256 == content_hash(data)


def test_the_seed_partition_reads_the_seed_dataset(tmp_path):
    seed = load_partition_file(LocalStore(tmp_path), TRAIN, "seed", None, BODYFAT_CSV)
    assert len(seed.frame) == 252 and seed.moved_from is None


def test_a_file_that_fails_validation_in_its_run_is_rejected_not_left_behind(tmp_path, labeled_frame):
    store = LocalStore(tmp_path)
    data = csv_bytes(labeled_frame.drop(columns=["Wrist"]))  # e.g. accepted under an older contract
    key = partition_key_for("old.csv", content_hash(data))
    store.write_bytes("train/old.csv", data)
    with pytest.raises(Reject, match="wrong_header"):
        load_partition_file(store, TRAIN, key, "old.csv", BODYFAT_CSV)
    assert store.list_keys("train/") == [] and any(k.endswith("old.csv") for k in store.list_keys("rejected/train/"))
