"""Partition keys, content hashes and where a file goes (core/landing/naming.py)."""

from datetime import UTC, datetime

from bodyfat_assets.core.landing.naming import (
    content_hash,
    duplicate_of,
    hash_of_partition,
    partition_key_for,
    partition_of_processed,
    processed_key,
    rejected_key,
)


def test_partition_keys_follow_name_and_content():
    key = partition_key_for("Batch 7 (final).csv", content_hash(b"x"))
    assert key.startswith("Batch_7_final-") and hash_of_partition(key) == content_hash(b"x")[:12]
    assert partition_key_for("a.csv", content_hash(b"y")) != partition_key_for("a.csv", content_hash(b"x"))
    assert "..." not in partition_key_for("a....csv", "0" * 64)
    assert hash_of_partition("seed") is None


def test_duplicates_are_found_by_content_whatever_the_name():
    key = partition_key_for("a.csv", content_hash(b"x"))
    assert duplicate_of(content_hash(b"x"), ["seed", key]) == key
    assert duplicate_of(content_hash(b"y"), ["seed", key]) is None


def test_processed_and_rejected_keys():
    key = partition_key_for("A.CSV", content_hash(b"x"))
    assert processed_key("train", key, "A.CSV") == f"processed/train/{key}.csv"
    assert partition_of_processed(processed_key("train", key, "A.CSV")) == key
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert rejected_key("score", "x.txt", when) == "rejected/score/20260102T030405000000Z-x.txt"
