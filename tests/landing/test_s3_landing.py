"""The landing zone on S3 (moto's server on loopback): the sensor lists through the S3 store, rejects
with copy-verify-delete, and an ingestion run reads the landed object and moves it to processed/."""

import json

import boto3
import pytest
from dagster import DagsterInstance, build_sensor_context

from bodyfat_assets.core.landing.cursor import list_landed
from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.jobs import INGEST_JOB
from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.landing_zone import LandingZone
from bodyfat_assets.partitions import landed_files_tags
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.landing_files import csv_bytes
from bodyfat_assets.testing.services import s3_server

pytestmark = pytest.mark.integration
BUCKET = "bodyfat-landing-test"


@pytest.fixture
def s3_settings(tmp_path, monkeypatch) -> Settings:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with s3_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield Settings.from_env({
            "BODYFAT_ENV": "production", "BODYFAT_BUCKET": BUCKET, "BODYFAT_LAKE_PREFIX": "lake",
            "S3_ENDPOINT_URL": endpoint, "BODYFAT_HOME": str(tmp_path),
            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db", "OPTUNA_STORAGE": f"sqlite:///{tmp_path}/o.db",
        })


def test_sensor_and_ingestion_on_s3(s3_settings, labeled_frame):
    defs = build_definitions(s3_settings)
    landing = LandingZone(lake=LakeGroup.of(s3_settings.lake))
    store = landing.store()
    good = csv_bytes(labeled_frame)
    store.write_bytes("train/good.csv", good)
    store.write_bytes("train/bad.csv", b"Age,Weight\n1,2\n")
    assert {o.key for o in list_landed(store)} == {"train/good.csv", "train/bad.csv"}
    assert all(o.etag for o in list_landed(store)), "S3's etag keys the cursor"

    instance = DagsterInstance.ephemeral()
    context = build_sensor_context(instance=instance, resources={"landing": landing}, definitions=defs)
    result = defs.resolve_sensor_def("landing_sensor")(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    key = partition_key_for("good.csv", content_hash(good))
    assert [r.partition_key for r in result.run_requests] == [SEED_PARTITION, key]
    [reason_key] = [k for k in store.list_keys("rejected/") if k.endswith(".reason.json")]
    assert json.loads(store.read_bytes(reason_key))["reason"] == "wrong_header"
    assert store.list_keys("train/") == ["train/good.csv"]

    run = defs.resolve_job_def(INGEST_JOB).execute_in_process(instance=instance, partition_key=key,
                                                              tags=landed_files_tags({key: "good.csv"}))
    assert run.success
    checks = {c.check_name: c for c in run.get_asset_check_evaluations()}
    assert checks["raw_schema"].passed, "the check reads this partition only"
    raw = parquet_to_frame(store_from_url(s3_settings.lake_url, s3_settings.s3_endpoint_url)
                           .read_bytes(f"raw_bodyfat/{key}.parquet"))
    assert len(raw) == len(labeled_frame) and set(raw["source"]) == {key}
    assert store.list_keys("train/") == [] and store.read_bytes(f"processed/train/{key}.csv") == good
