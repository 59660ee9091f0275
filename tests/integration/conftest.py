"""Real services for the integration tests: moto's S3 server, PostgreSQL databases, an `mlflow server` with a
PostgreSQL backend and S3 artifacts, a Dagster instance on PostgreSQL from the production instance config.

Everything is torn down afterwards: processes stopped, databases dropped, os.environ restored.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bodyfat_assets.testing.services import mlflow_server, postgres_database, postgres_env, require_postgres, s3_server
from tests.support.production import (
    AWS_ENV,
    LAKE_BUCKET,
    LAKE_PREFIX,
    MLFLOW_BUCKET,
    PRODUCTION_INSTANCE_YAML,
    TUNING_ENV,
    ProductionStack,
    s3_client,
)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server for the whole session, with fake credentials in os.environ (restored afterwards)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
    with pytest.MonkeyPatch.context() as mp:
        for name, value in AWS_ENV.items():
            mp.setenv(name, value)
        with s3_server() as url:
            yield url


def write_dagster_home(home: Path, database_url: str) -> dict[str, str]:
    """DAGSTER_HOME with the production dagster.yaml itself, and the env vars it reads pointing at `database_url`."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PRODUCTION_INSTANCE_YAML, home / "dagster.yaml")
    return {"DAGSTER_HOME": str(home), **postgres_env(database_url)}


@pytest.fixture(scope="module")
def production_stack(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionStack]:
    """Three fresh databases, two buckets, a real mlflow server, DAGSTER_HOME on PostgreSQL, and os.environ set
    as a production deployment sets it, for the module (the multiprocess executor's step processes inherit it)."""
    require_postgres()
    tmp = tmp_path_factory.mktemp("production")
    with ExitStack() as stack, pytest.MonkeyPatch.context() as mp:
        dagster_db = stack.enter_context(postgres_database("it_dagster"))
        mlflow_db = stack.enter_context(postgres_database("it_mlflow"))
        optuna_db = stack.enter_context(postgres_database("it_optuna"))
        s3 = s3_client(s3_endpoint)
        for bucket in (LAKE_BUCKET, MLFLOW_BUCKET):
            s3.create_bucket(Bucket=bucket)
        server_env = {**AWS_ENV, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint}
        mlflow_url = stack.enter_context(
            mlflow_server(mlflow_db, f"s3://{MLFLOW_BUCKET}/artifacts", env=server_env, log_dir=tmp))
        env = {
            **AWS_ENV,
            **TUNING_ENV,
            **write_dagster_home(tmp / "dagster_home", dagster_db),
            "BODYFAT_ENV": "production",
            "BODYFAT_HOME": str(tmp / "bodyfat_home"),
            "BODYFAT_BUCKET": LAKE_BUCKET,
            "BODYFAT_LAKE_PREFIX": LAKE_PREFIX,
            "S3_ENDPOINT_URL": s3_endpoint,
            "MLFLOW_TRACKING_URI": mlflow_url,
            "OPTUNA_STORAGE": optuna_db,
        }
        for name, value in env.items():
            mp.setenv(name, value)
        # Clients reach artifacts through the server (mlflow-artifacts:/), so they get no S3 endpoint for MLflow.
        mp.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
        yield ProductionStack(s3_endpoint=s3_endpoint, mlflow_url=mlflow_url, dagster_db=dagster_db,
                              mlflow_db=mlflow_db, optuna_db=optuna_db, dagster_home=tmp / "dagster_home",
                              bodyfat_home=tmp / "bodyfat_home")
        # Leaving the ExitStack stops the mlflow server, then drops the databases (WITH FORCE); the
        # MonkeyPatch context restores os.environ.
