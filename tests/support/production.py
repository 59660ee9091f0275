"""Shared by the integration tests: the production services' names and a client for moto's S3 server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_INSTANCE_YAML = REPO_ROOT / "docker" / "dagster.yaml"
# moto accepts any credentials; boto3 only needs some to sign requests.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
# A small search: these tests check the wiring, not the model.
TUNING_ENV = {"BODYFAT_TRIALS": "6", "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "ridge,knn"}
LAKE_BUCKET, MLFLOW_BUCKET, LAKE_PREFIX = "bodyfat-lake", "bodyfat-mlflow", "lake"


def s3_client(endpoint_url: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint_url, region_name=AWS_ENV["AWS_DEFAULT_REGION"],
                        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])


@dataclass(frozen=True)
class ProductionStack:
    s3_endpoint: str
    mlflow_url: str
    dagster_db: str
    mlflow_db: str
    optuna_db: str
    dagster_home: Path
    bodyfat_home: Path
    lake_bucket: str = LAKE_BUCKET
    mlflow_bucket: str = MLFLOW_BUCKET
    lake_prefix: str = LAKE_PREFIX

    def s3(self):
        return s3_client(self.s3_endpoint)
