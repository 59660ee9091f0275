"""One contract for every object store of the lake: the same tests on a local folder and on S3 (moto's server over
real HTTP). A new store (GCS, Azure) joins by adding one parameter here."""

from __future__ import annotations

import time
import uuid

import pytest

from bodyfat_assets.lake import ObjectStore, store_from_url
from tests.support.production import s3_client


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def store(request: pytest.FixtureRequest, tmp_path) -> ObjectStore:
    if request.param == "local":
        return store_from_url(str(tmp_path / "lake"))
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"contract-{uuid.uuid4().hex[:8]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    return store_from_url(f"s3://{bucket}/lake", endpoint)


def test_round_trip_overwrite_exists_and_delete(store: ObjectStore) -> None:
    store.write_bytes("a/b.bin", b"one")
    store.write_bytes("a/b.bin", b"three")
    assert store.read_bytes("a/b.bin") == b"three" and store.exists("a/b.bin")
    assert not store.exists("a/c.bin") and not store.exists("a"), "a folder is not an object"
    store.delete("a/b.bin")
    store.delete("a/b.bin")  # deleting a missing key is not an error
    assert not store.exists("a/b.bin") and store.list_objects() == []


def test_listing_gives_keys_sizes_etags_and_mtimes_sorted(store: ObjectStore) -> None:
    for key, data in {"train/b.csv": b"12345", "train/a.csv": b"1", "score/x/y.csv": b"12"}.items():
        store.write_bytes(key, data)
    listed = store.list_objects()
    assert [(o.key, o.size) for o in listed] == [("score/x/y.csv", 2), ("train/a.csv", 1), ("train/b.csv", 5)]
    assert all(o.etag for o in listed) and len({o.etag for o in listed}) == 3
    assert all(abs(o.mtime - time.time()) < 3600 for o in listed), "mtime is seconds since the epoch"
    assert store.list_keys() == [o.key for o in listed]


def test_prefixes_are_key_prefixes(store: ObjectStore) -> None:
    for key in ("train/a.csv", "train2/b.csv", "trainer.csv"):
        store.write_bytes(key, b"x")
    assert store.list_keys("train/") == ["train/a.csv"]
    assert store.list_keys("train") == ["train/a.csv", "train2/b.csv", "trainer.csv"]
    assert store.list_keys("missing/") == [] and store.list_keys("missing") == []


def test_a_changed_object_gets_a_new_etag(store: ObjectStore) -> None:
    store.write_bytes("train/a.csv", b"first version")
    [before] = store.list_objects("train/")
    store.write_bytes("train/a.csv", b"second, longer version")
    [after] = store.list_objects("train/")
    assert after.etag != before.etag and after.size == len(b"second, longer version")


def test_dot_files_are_not_listed(store: ObjectStore) -> None:
    """A writer's temporary name (`.name.tmp`) is invisible until it is renamed into place."""
    store.write_bytes("train/.partial.csv", b"half")
    store.write_bytes("train/done.csv", b"whole")
    assert store.list_keys("train/") == ["train/done.csv"]


def test_ranges_read_part_of_an_object(store: ObjectStore) -> None:
    store.write_bytes("big.bin", bytes(range(256)) * 4)
    assert store.read_range("big.bin", 0, 4) == b"\x00\x01\x02\x03"
    assert store.read_range("big.bin", 1020, 100) == bytes(range(252, 256)), "fewer bytes at the end"
    assert store.read_range("big.bin", 1024, 10) == b"" and store.read_range("big.bin", 5, 0) == b""


def test_open_read_streams_ranges_and_seeks(store: ObjectStore) -> None:
    data = bytes(range(256)) * 4096  # 1 MB
    store.write_bytes("score/big.bin", data)
    assert store.size("score/big.bin") == len(data)
    with store.open_read("score/big.bin") as file:
        assert file.read(10) == data[:10]
        file.seek(-5, 2)
        assert file.read() == data[-5:]
        file.seek(500_000)
        assert file.read(3) == data[500_000:500_003]


def test_put_file_publishes_a_local_file_whole(store: ObjectStore, tmp_path) -> None:
    store.write_bytes("predictions/p.parquet", b"previous")
    staged = tmp_path / "staged.parquet"
    staged.write_bytes(b"complete output" * 1000)
    store.put_file("predictions/p.parquet", staged)
    assert store.read_bytes("predictions/p.parquet") == staged.read_bytes()
    assert store.list_keys("predictions/") == ["predictions/p.parquet"], "no staging object left behind"


def test_move_keeps_the_bytes_and_removes_the_original(store: ObjectStore) -> None:
    store.write_bytes("score/a.csv", b"x,y\n1,2\n")
    store.move("score/a.csv", "processed/score/a-0123.csv")
    assert store.read_bytes("processed/score/a-0123.csv") == b"x,y\n1,2\n" and not store.exists("score/a.csv")
    with pytest.raises(FileNotFoundError if store.url.startswith("/") else Exception):
        store.move("score/missing.csv", "processed/score/missing.csv")
    assert not store.exists("processed/score/missing.csv")
