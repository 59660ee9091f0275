"""The lake's S3 path in isolation, against moto's S3 server over real HTTP: what only S3 has (prefix in the bucket,
paging, a missing bucket) and LakeIOManager. What every store does is in test_store_contract.py."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from dagster import AssetKey, build_input_context, build_output_context

from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.io_manager import LakeIOManager
from bodyfat_assets.lake import S3Store, frame_to_parquet, store_from_url
from tests.support.production import s3_client

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    name = f"lake-{uuid.uuid4().hex[:8]}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


def test_store_from_url_builds_an_s3_store(bucket: str, s3_endpoint: str) -> None:
    store = store_from_url(f"s3://{bucket}/lake/", s3_endpoint)
    assert isinstance(store, S3Store) and store.url == f"s3://{bucket}/lake"
    assert (store.bucket, store.prefix) == (bucket, "lake")


def test_keys_live_under_the_prefix_in_the_bucket(bucket: str, s3_endpoint: str) -> None:
    store = store_from_url(f"s3://{bucket}/lake", s3_endpoint)
    store.write_bytes("a.parquet", frame_to_parquet(pd.DataFrame({"row_id": [1, 2, 3]})))
    store.write_bytes("nested/deeper/c.bin", b"\x00\x01")
    s3_client(s3_endpoint).put_object(Bucket=bucket, Key="lake/folder/", Body=b"")  # a console's "folder"
    raw = s3_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in raw) == ["lake/a.parquet", "lake/folder/", "lake/nested/deeper/c.bin"]
    assert store.list_keys() == ["a.parquet", "nested/deeper/c.bin"], "the store hides the prefix and folders"
    with pytest.raises(Exception, match="NoSuchKey"):
        store.read_bytes("missing.parquet")


def test_store_without_prefix_and_overwrite(bucket: str, s3_endpoint: str) -> None:
    store = store_from_url(f"s3://{bucket}", s3_endpoint)
    store.write_bytes("k", b"one")
    store.write_bytes("k", b"two")
    assert store.read_bytes("k") == b"two" and store.list_keys() == ["k"] and store.url == f"s3://{bucket}"


def test_listing_pages_past_1000_keys(bucket: str, s3_endpoint: str) -> None:
    store = store_from_url(f"s3://{bucket}/many", s3_endpoint)
    client = s3_client(s3_endpoint)
    with ThreadPoolExecutor(8) as pool:  # boto3 clients are thread-safe; moto's server is threaded
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"many/k{i:04d}", Body=b""), range(1005)))
    assert len(store.list_keys()) == 1005


def test_missing_bucket_is_an_error_not_a_missing_key(s3_endpoint: str) -> None:
    store = store_from_url(f"s3://nope-{uuid.uuid4().hex[:8]}/lake", s3_endpoint)
    with pytest.raises(Exception):  # noqa: B017 - botocore's ClientError (404 on the bucket)
        store.write_bytes("a", b"x")


def test_io_manager_writes_and_loads_a_frame_and_a_record(bucket: str, s3_endpoint: str) -> None:
    manager = LakeIOManager(lake=LakeGroup(url=f"s3://{bucket}/lake", s3_endpoint_url=s3_endpoint))
    frame = pd.DataFrame({"row_id": [1, 2], "Age": [23, 41], "split": ["train", "test"]})
    record = {"model_version": "3", "test_rmse": 4.2, "features": ["Age", "Weight"]}

    frame_out = build_output_context(asset_key=AssetKey("cleaned_bodyfat"))
    manager.handle_output(frame_out, frame)
    record_out = build_output_context(asset_key=AssetKey("tuned_model"))
    manager.handle_output(record_out, record)

    keys = sorted(o["Key"] for o in s3_client(s3_endpoint).list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["lake/cleaned_bodyfat.parquet", "lake/tuned_model.json"]
    metadata = frame_out.get_logged_metadata()
    assert metadata["uri"].value == f"s3://{bucket}/lake/cleaned_bodyfat.parquet"

    loaded = manager.load_input(build_input_context(asset_key=AssetKey("cleaned_bodyfat")))
    pd.testing.assert_frame_equal(loaded, frame)
    assert manager.load_input(build_input_context(asset_key=AssetKey("tuned_model"))) == record


def test_io_manager_reads_what_another_instance_wrote(bucket: str, s3_endpoint: str) -> None:
    """A step process writes, another reads: nothing is cached in the manager."""
    url = f"s3://{bucket}/lake"
    LakeIOManager(lake=LakeGroup(url=url, s3_endpoint_url=s3_endpoint)).handle_output(
        build_output_context(asset_key=AssetKey(["group", "asset"])), {"ok": True})
    reader = LakeIOManager(lake=LakeGroup(url=url, s3_endpoint_url=s3_endpoint))
    assert reader.load_input(build_input_context(asset_key=AssetKey(["group", "asset"]))) == {"ok": True}
    assert reader.store.list_keys() == ["group/asset.json"]


def test_a_scoring_file_on_s3_streams_through_the_same_path_as_a_local_one(bucket: str, s3_endpoint: str,
                                                                            tmp_path, seed_frame) -> None:
    """One storage interface; a Parquet file is read by its footer and row groups over ranged GETs."""
    from bodyfat_contract import FEATURE_NAMES

    from bodyfat_assets.core.scoring.stream import score_file
    from bodyfat_assets.lake import LocalStore
    from bodyfat_assets.testing.landing_files import csv_bytes, parquet_bytes

    class Abdomen:
        def predict(self, features: pd.DataFrame):
            return features["Abdomen"].to_numpy() / 10

    card = {"features": list(FEATURE_NAMES), "interval_half_width_90": 2.0}
    frame = seed_frame[list(FEATURE_NAMES)]
    outputs = {}
    for where, store in {"s3": store_from_url(f"s3://{bucket}/lake", s3_endpoint),
                         "local": LocalStore(tmp_path / "lake")}.items():
        for name, data in {"f.csv": csv_bytes(frame), "f.parquet": parquet_bytes(frame)}.items():
            store.write_bytes(f"score/{name}", data)
            with store.open_read(f"score/{name}") as file:
                output = tmp_path / f"{where}-{name}.parquet"
                score_file(file, name, "f", Abdomen(), card, "1", output, batch_rows=100)
            outputs[(where, name)] = pd.read_parquet(output)
    first = outputs[("local", "f.csv")]
    assert len(first) == len(frame) and first["issue"].notna().sum() > 0, "the seed's anomalies are reported"
    for frame_out in outputs.values():
        pd.testing.assert_frame_equal(frame_out, first)
