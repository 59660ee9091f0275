"""Real services for tests: a fresh PostgreSQL database, moto's S3 server, a real `mlflow server` process.

PostgreSQL-backed tests skip on a laptop without a server, but fail when CI=true: CI must exercise them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import psycopg2.extensions

PG_ADMIN_DSN = os.environ.get("BODYFAT_TEST_PG_DSN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: callable, timeout_s: float, what: str, interval_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s")


def _pg_connect(dbname: str = "postgres") -> psycopg2.extensions.connection:
    import psycopg2

    base = PG_ADMIN_DSN.split("://", 1)[1]
    userhost, _, _ = base.partition("/")
    user, _, hostport = userhost.rpartition("@")
    host, _, port = hostport.partition(":")
    return psycopg2.connect(user=user or "postgres", host=host, port=int(port or 5432), dbname=dbname,
                            connect_timeout=3)


def require_postgres() -> None:
    """Skip without a server, except in CI, where a missing server is a failure."""
    try:
        _pg_connect().close()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


REDIS_URL = os.environ.get("BODYFAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def require_redis() -> None:
    """Skip without a Redis server, except in CI, where a missing server is a failure."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis is required in CI and unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")


def postgres_env(url: str) -> dict[str, str]:
    """The POSTGRES_* and DAGSTER_PG_DB variables of docker/dagster*.yaml for a database URL of `postgres_database`."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return {"POSTGRES_USER": parsed.username or "postgres",
            "POSTGRES_PASSWORD": parsed.password or "unused",  # trust auth; dagster refuses an empty env value
            "POSTGRES_HOST": parsed.host or "127.0.0.1", "POSTGRES_PORT": str(parsed.port or 5432),
            "DAGSTER_PG_DB": parsed.database}


@contextmanager
def postgres_database(prefix: str = "bodyfat") -> Iterator[str]:
    """A uniquely named database, dropped afterwards; yields a SQLAlchemy URL (psycopg2 driver)."""
    require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _pg_connect()
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's standalone S3 server on loopback: real HTTP, real boto3 clients."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def http_ok(url: str, timeout_s: float = 2) -> bool:
    """The URL answers 200 (any error, refusal or timeout: False)."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (the harness's own URLs)
            return response.status == 200
    except OSError:
        return False


@contextmanager
def process_group(cmd: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """Start a command in its own process group and stop the whole group afterwards."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen, timeout_s: float = 15) -> None:
    if proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def mlflow_server(
    backend_store_uri: str,
    artifacts_destination: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    log_dir: Path | None = None,
) -> Iterator[str]:
    """A real `mlflow server` (1 worker, no job runner: ~500 MB instead of ~3 GB) proxying artifacts."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    proc_env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})}
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", artifacts_destination,
    ]  # fmt: skip
    log_path = (log_dir or Path(tempfile.gettempdir())) / f"mlflow-server-{port}.log"
    with process_group(cmd, proc_env, log_path) as proc:
        def healthy() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited with {proc.returncode}; see {log_path}")
            return http_ok(f"{url}/health")

        wait_until(healthy, 90, f"mlflow server on {url}")
        yield url
