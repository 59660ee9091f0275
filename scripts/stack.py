"""The docker-compose topology without Docker: every service as a process on loopback (`make stack`).

Reads the same variables as docker-compose.yml (`.env` if present, over the values in `.env.example`, under the
process environment), through the one configuration model (bodyfat_assets/settings.py), and starts, in dependency order:

    PostgreSQL databases (on the existing server) -> S3 (minio binary, else moto_server) + buckets
    -> mlflow server -> Dagster code server -> Dagster webserver + daemon -> serving API (if present)

Each service runs in its own process group, so stopping the stack stops everything it started, grandchildren
included. Run `python scripts/stack.py` (`make stack`); Ctrl-C or SIGTERM stops it.

Its state folder (`--workdir`, default `.bodyfat/stack`) holds the logs, DAGSTER_HOME, `stack.env` (mode 0600: the
S3 key pair and every setting a client needs, which `make feed` and `make stack-sensors` read), `stack.pid` while it
runs, and `databases` (the PostgreSQL databases it created, which a fresh start and `make clean` drop).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml

from bodyfat_assets.settings import ServiceSettings, Settings, process_environment, read_dotenv

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = REPO_ROOT / "docker"
DEFAULT_WORKDIR = REPO_ROOT / ".bodyfat" / "stack"
CODE_MODULE = "bodyfat_assets.definitions"
# Cold starts on a shared 2-core machine: mlflow ~7 s, Dagster ~10-30 s when other work competes for the CPUs.
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 15.0
ENV_FILE = "stack.env"
PID_FILE = "stack.pid"
DATABASES_FILE = "databases"


class StackError(RuntimeError):
    """A service failed to start or become healthy."""


def stack_settings(environ: Mapping[str, str] | None = None, root: Path = REPO_ROOT) -> Settings:
    """The stack's configuration: `.env.example`, overridden by `.env`, overridden by `environ` (default: the
    process environment), read by the one configuration model like every other setting."""
    return Settings.from_env(environ, dotenv_files=(root / ".env.example", root / ".env"))


@dataclass(frozen=True)
class StackConfig:
    """The compose variables, with loopback hosts instead of compose service names."""

    services: ServiceSettings
    lake_bucket: str
    lake_prefix: str
    model_name: str
    s3_user: str
    s3_password: str = field(repr=False)
    automation: Mapping[str, str] = field(default_factory=dict)
    """Landing-zone and sensor settings, passed through as variables (bodyfat_assets.settings reads them)."""
    host: str = "127.0.0.1"

    @classmethod
    def from_settings(cls, settings: Settings, saved: Mapping[str, str] | None = None) -> StackConfig:
        """`saved`: a previous start's `stack.env`, whose generated key pair is reused (MinIO's data needs it)."""
        if not settings.bucket:
            raise StackError("BODYFAT_BUCKET is empty: set it in .env or the environment")
        svc = settings.services
        saved = saved or {}
        return cls(
            services=svc, lake_bucket=settings.bucket, lake_prefix=settings.lake_prefix,
            model_name=settings.model_name, automation=settings.landing.as_env(),
            # moto accepts any key pair and a local minio only needs one: generate rather than invent a default.
            s3_user=svc.minio_user or saved.get("AWS_ACCESS_KEY_ID") or f"stack-{secrets.token_hex(4)}",
            s3_password=svc.minio_password or saved.get("AWS_SECRET_ACCESS_KEY") or secrets.token_urlsafe(24),
        )

    @classmethod
    def from_env(cls, values: Mapping[str, str]) -> StackConfig:
        """From variables as `.env` would give them (tests pass .env.example's values)."""
        return cls.from_settings(Settings.from_env(values))

    def pg_url(self, database: str) -> str:
        svc = self.services
        auth = f"{svc.postgres_user}:{svc.postgres_password}" if svc.postgres_password else svc.postgres_user
        return f"postgresql+psycopg2://{auth}@{svc.postgres_host}:{svc.postgres_port}/{database}"

    @property
    def s3_endpoint_url(self) -> str:
        return f"http://{self.host}:{self.services.minio_port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.services.mlflow_port}"

    @property
    def webserver_url(self) -> str:
        return f"http://{self.host}:{self.services.webserver_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.services.api_port}"

    def service_env(self, dagster_home: Path, bodyfat_home: Path) -> dict[str, str]:
        """What every child process sees: the names docker-compose.yml gives its services."""
        return {
            "POSTGRES_USER": self.services.postgres_user,
            "POSTGRES_PASSWORD": self.services.postgres_password,
            "POSTGRES_HOST": self.services.postgres_host,
            "POSTGRES_PORT": str(self.services.postgres_port),
            "DAGSTER_PG_DB": self.services.dagster_db,
            "MLFLOW_PG_DB": self.services.mlflow_db,
            "OPTUNA_PG_DB": self.services.optuna_db,
            "AWS_ACCESS_KEY_ID": self.s3_user,
            "AWS_SECRET_ACCESS_KEY": self.s3_password,
            "AWS_DEFAULT_REGION": self.services.aws_region,
            "S3_ENDPOINT_URL": self.s3_endpoint_url,
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint_url,
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_GRPC_HOST": self.host,
            "DAGSTER_GRPC_PORT": str(self.services.grpc_port),
            "BODYFAT_ENV": "production",
            "BODYFAT_HOME": str(bodyfat_home),
            "BODYFAT_BUCKET": self.lake_bucket,
            "BODYFAT_LAKE_PREFIX": self.lake_prefix,
            "BODYFAT_MODEL_NAME": self.model_name,
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            # Links between the UIs (MLflow run -> Dagster run) must name this stack's webserver port.
            "DAGSTER_UI_URL": self.webserver_url,
            "MLFLOW_UI_URL": self.mlflow_url,
            "OPTUNA_STORAGE": self.pg_url(self.services.optuna_db),
            **self.automation,
        }


@dataclass
class Service:
    name: str
    url: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - http URL built from our own config
            return response.status == 200
    except OSError:
        return False


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _bin(name: str) -> str:
    """A console script of the running interpreter's environment, so the stack works without an activated venv."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise StackError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM the whole group, SIGKILL whatever is left after the timeout; returns once the group is empty."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, or its zombie keeps the group "alive"
            if not process_group_alive(process.pid):
                break
            time.sleep(0.1)
        else:
            continue  # something ignored SIGTERM: escalate
        break
    process.poll()


def process_group_alive(pgid: int) -> bool:
    return _answers_signal_zero(os.killpg, pgid)


def pid_alive(pid: int) -> bool:
    return _answers_signal_zero(os.kill, pid)


def _answers_signal_zero(send: Callable[[int, int], None], ident: int) -> bool:
    try:
        send(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


@dataclass
class Stack:
    """Start/stop the loopback topology. Use as a context manager or call `start()` then `stop()`."""

    config: StackConfig
    workdir: Path = DEFAULT_WORKDIR
    code_module: str = CODE_MODULE
    with_api: bool | None = None
    """None: start the API when `serving/__main__.py` exists."""
    timeout_s: float = START_TIMEOUT_S
    log: Callable[[str], None] = print
    services: list[Service] = field(default_factory=list)
    created_databases: list[str] = field(default_factory=list)

    @property
    def dagster_home(self) -> Path:
        return self.workdir / "dagster_home"

    @property
    def env_file(self) -> Path:
        return self.workdir / ENV_FILE

    @property
    def persistent_s3(self) -> bool:
        """MinIO keeps its objects in the state folder; moto's server keeps them in memory only."""
        return shutil.which("minio") is not None

    @property
    def env(self) -> dict[str, str]:
        return process_environment(**self.config.service_env(self.dagster_home, self.workdir / "bodyfat_home"))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pid_file = self.workdir / PID_FILE
        if pid_file.exists() and (pid := int(pid_file.read_text().split()[0])) != os.getpid() and pid_alive(pid):
            # A fresh start drops the databases: never under a stack that is still running from this folder.
            raise StackError(f"a stack already runs from {self.workdir} (pid {pid}): stop it first")
        try:
            self._write_env_file()
            (self.workdir / PID_FILE).write_text(f"{os.getpid()}\n")
            self._ensure_databases()
            self._start_s3()
            self._start_mlflow()
            self._write_dagster_home()
            self._start_dagster()
            if self.with_api or (self.with_api is None and (REPO_ROOT / "serving" / "__main__.py").exists()):
                self._start_api()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop services in reverse start order, so nothing is left talking to a dead dependency."""
        for service in reversed(self.services):
            if service.process is not None:
                self.log(f"stopping {service.name}")
                stop_process_group(service.process)
        self.services.clear()
        pid_file = self.workdir / PID_FILE
        if pid_file.exists() and pid_file.read_text().split()[:1] == [str(os.getpid())]:
            pid_file.unlink()  # only our own: a refused second start must not unmark the running one

    def _write_env_file(self) -> None:
        """Everything a client of this stack needs, credentials included, readable by its owner only: `make feed`
        and `make stack-sensors` source it, and it is the one place the generated S3 key pair is written down."""
        lines = [f"{key}={shlex.quote(value)}" for key, value in self.config.service_env(
            self.dagster_home, self.workdir / "bodyfat_home").items()]
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that already exists
        with os.fdopen(fd, "w") as out:
            out.write("# Written by scripts/stack.py: the running stack's settings and credentials (keep private).\n")
            out.write("\n".join(lines) + "\n")

    def urls(self) -> dict[str, str]:
        return {service.name: service.url for service in self.services}

    def pids(self) -> list[int]:
        return [s.process.pid for s in self.services if s.process is not None]

    # --- PostgreSQL -------------------------------------------------------------------------------------------
    def _connect(self) -> Any:  # psycopg2 ships no type stubs
        import psycopg2

        svc = self.config.services
        return psycopg2.connect(
            user=svc.postgres_user, password=svc.postgres_password or None, host=svc.postgres_host,
            port=svc.postgres_port, dbname="postgres", connect_timeout=5,
        )  # fmt: skip

    def owned_databases(self) -> list[str]:
        """The databases an earlier start of this stack created (a fresh start and `make clean` may drop them)."""
        path = self.workdir / DATABASES_FILE
        return path.read_text().split() if path.exists() else []

    def _ensure_databases(self) -> None:
        cfg = self.config
        names = (cfg.services.dagster_db, cfg.services.mlflow_db, cfg.services.optuna_db)
        owned = self.owned_databases()
        conn = self._connect()
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        try:
            with conn.cursor() as cur:
                for name in names:
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                    exists = cur.fetchone() is not None
                    if exists and not self.persistent_s3:
                        # moto 5.2's server has no persistence option: its S3 starts empty, so databases kept from
                        # a previous start would show history (materializations, registered models) whose data is
                        # gone. Chosen: start them fresh together with the S3 server.
                        if name not in owned:
                            raise StackError(
                                f"database {name!r} exists but this stack did not create it; with moto's in-memory "
                                f"S3 it would hold history without data: drop it or set another name in .env")
                        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                        self.log(f"fresh start: dropped {name} (moto's S3 starts empty)")
                        exists = False
                    if not exists:
                        cur.execute(f'CREATE DATABASE "{name}"')
                        self.created_databases.append(name)
        finally:
            conn.close()
        (self.workdir / DATABASES_FILE).write_text("\n".join(sorted(set(owned) | set(self.created_databases))) + "\n")
        if not self.persistent_s3:
            # Dagster's local state (compute logs, artifacts) belongs to the dropped instance as well.
            shutil.rmtree(self.dagster_home, ignore_errors=True)
            shutil.rmtree(self.workdir / "bodyfat_home", ignore_errors=True)
        pg = cfg.services
        self.services.append(Service("postgres", f"postgresql://{pg.postgres_host}:{pg.postgres_port}"))

    def drop_created_databases(self) -> list[str]:
        """Drop the databases this stack created, in this start or an earlier one (`make clean`); call after
        `stop()`. Returns their names."""
        names = sorted(set(self.created_databases) | set(self.owned_databases()))
        conn = self._connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for name in names:
                    cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()
        self.created_databases.clear()
        (self.workdir / DATABASES_FILE).unlink(missing_ok=True)
        return names

    # --- processes --------------------------------------------------------------------------------------------
    def _spawn(self, name: str, url: str, cmd: list[str], extra_env: Mapping[str, str] | None = None) -> Service:
        log_path = self.workdir / f"{name}.log"
        with open(log_path, "ab") as log:
            # A new session per service: Ctrl-C on the terminal reaches only this script, which then stops each
            # group, and killpg also reaches the workers a service forks.
            process = subprocess.Popen(
                cmd, cwd=REPO_ROOT, env={**self.env, **(extra_env or {})},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        service = Service(name, url, process, log_path)
        self.services.append(service)
        self.log(f"started {name} (pid {process.pid}), log {log_path}")
        return service

    def _wait(self, service: Service, healthy: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if service.process is not None and service.process.poll() is not None:
                raise StackError(f"{service.name} exited with {service.process.returncode}; see {service.log_path}")
            try:
                if healthy():
                    self.log(f"{service.name} healthy at {service.url}")
                    return
            except Exception:  # noqa: S110 - any failure means "not ready yet" until the deadline
                pass
            time.sleep(0.5)
        raise StackError(f"{service.name} not healthy after {self.timeout_s:.0f} s; see {service.log_path}")

    def s3_client(self) -> Any:  # boto3 ships no type stubs
        import boto3

        cfg = self.config
        return boto3.client(
            "s3", endpoint_url=cfg.s3_endpoint_url, region_name=cfg.services.aws_region,
            aws_access_key_id=cfg.s3_user, aws_secret_access_key=cfg.s3_password,
        )  # fmt: skip

    def _start_s3(self) -> None:
        cfg = self.config
        minio = shutil.which("minio")
        if minio:
            data = self.workdir / "minio"
            cmd = [
                minio, "server", str(data), "--address", f"{cfg.host}:{cfg.services.minio_port}",
                "--console-address", f"{cfg.host}:{cfg.services.minio_console_port}",
            ]  # fmt: skip
            env = {"MINIO_ROOT_USER": cfg.s3_user, "MINIO_ROOT_PASSWORD": cfg.s3_password}
            service = self._spawn("minio", cfg.s3_endpoint_url, cmd, env)
        else:
            # No MinIO binary on these machines: moto's server speaks the same S3 API over HTTP (in memory).
            cmd = [_bin("moto_server"), "-H", cfg.host, "-p", str(cfg.services.minio_port)]
            service = self._spawn("s3 (moto)", cfg.s3_endpoint_url, cmd)
        client = self.s3_client()
        self._wait(service, lambda: client.list_buckets() is not None)
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        for bucket in (cfg.lake_bucket, cfg.services.mlflow_bucket):
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)

    def _start_mlflow(self) -> None:
        cfg = self.config
        # Options as MLFLOW_* variables, as in compose: the PostgreSQL password stays out of `ps`.
        env = {
            "MLFLOW_HOST": cfg.host,
            "MLFLOW_PORT": str(cfg.services.mlflow_port),
            "MLFLOW_WORKERS": "1",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_BACKEND_STORE_URI": cfg.pg_url(cfg.services.mlflow_db),
            "MLFLOW_ARTIFACTS_DESTINATION": f"s3://{cfg.services.mlflow_bucket}/artifacts",
        }
        service = self._spawn("mlflow", cfg.mlflow_url, [_bin("mlflow"), "server"], env)
        self._wait(service, lambda: _http_ok(f"{cfg.mlflow_url}/health"))

    def _write_dagster_home(self) -> None:
        """The instance config and workspace the containers use (they read everything from env vars), but without
        the `run_launcher` section: there is no Docker here, so runs start as subprocesses of the code server
        (Dagster's default launcher)."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance = yaml.safe_load((DOCKER_DIR / "dagster.yaml").read_text())
        del instance["run_launcher"]
        (self.dagster_home / "dagster.yaml").write_text(yaml.safe_dump(instance, sort_keys=False))
        shutil.copyfile(DOCKER_DIR / "workspace.docker.yaml", self.dagster_home / "workspace.yaml")

    def _start_dagster(self) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        cfg = self.config
        workspace = str(self.dagster_home / "workspace.yaml")
        grpc_port = cfg.services.grpc_port
        code_cmd = [_bin("dagster"), "api", "grpc", "-m", self.code_module, "-h", cfg.host, "-p", str(grpc_port)]
        code = self._spawn("dagster-code", f"grpc://{cfg.host}:{grpc_port}", code_cmd)
        grpc = DagsterGrpcClient(port=grpc_port, host=cfg.host)
        # health_check_query prints every refused connection, so ask only once the port accepts connections.
        self._wait(code, lambda: _port_open(cfg.host, grpc_port) and grpc.health_check_query() == "SERVING")

        web_cmd = [_bin("dagster-webserver"), "-h", cfg.host, "-p", str(cfg.services.webserver_port), "-w", workspace]
        web = self._spawn("dagster-webserver", cfg.webserver_url, web_cmd)
        # The pools' limits before the daemon's first dequeue, as compose's daemon does (bodyfat_assets/pools.py).
        subprocess.run([_bin("python"), "-m", "bodyfat_assets.cli", "pools"], env=self.env, cwd=REPO_ROOT, check=True,
                       capture_output=True, timeout=300)
        daemon = self._spawn("dagster-daemon", "(no HTTP endpoint)", [_bin("dagster-daemon"), "run", "-w", workspace])
        self._wait(web, lambda: _http_ok(f"{cfg.webserver_url}/server_info"))
        self._wait(daemon, self._daemon_alive)

    def _daemon_alive(self) -> bool:
        # The same probe as the compose healthcheck: recent heartbeats in the instance's PostgreSQL storage.
        check = [_bin("dagster-daemon"), "liveness-check"]
        result = subprocess.run(check, env=self.env, cwd=REPO_ROOT, capture_output=True, timeout=60, check=False)
        return result.returncode == 0

    def _start_api(self) -> None:
        cfg = self.config
        env = {"BODYFAT_SERVING_HOST": cfg.host, "BODYFAT_SERVING_PORT": str(cfg.services.api_port),
               # The prediction log goes to the stack's lake (its S3 variables are in the common environment).
               "BODYFAT_SERVING_LAKE_URL": f"s3://{cfg.lake_bucket}/{cfg.lake_prefix}"}
        service = self._spawn("api", cfg.api_url, [sys.executable, "-m", "serving"], env)
        self._wait(service, lambda: _http_ok(f"{cfg.api_url}/health"))


def format_table(stack: Stack) -> str:
    rows = [("service", "url")] + [(s.name, s.url) for s in stack.services]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {url}" for name, url in rows)


def next_steps(stack: Stack) -> str:
    """What to do once the stack is up: where its credentials are, how to start its sensors and feed it."""
    cfg = stack.config
    sensors = cfg.automation.get("BODYFAT_SENSORS", "stopped")
    lines = [
        f"Credentials and settings: {stack.env_file} (mode 0600; `set -a; . {stack.env_file}; set +a` gives a shell "
        "the stack's settings)",
        "Next:",
    ]
    if sensors == "running":
        lines.append("  sensors     running (BODYFAT_SENSORS=running)")
    else:
        lines.append("  sensors     stopped by design (production default). Start them: `make stack-sensors` in "
                     f"another shell, or toggle them in the Dagster UI ({cfg.webserver_url}/automation)")
    lines += [
        f"  feed it     `make feed` in another shell: while this stack runs it writes to "
        f"s3://{cfg.lake_bucket}/{cfg.lake_prefix}/{cfg.automation.get('BODYFAT_LANDING_PREFIX', 'landing')}/ "
        "(moto's S3, not the local folder)",
        f"  logs        {stack.workdir}/*.log",
    ]
    if not stack.persistent_s3:
        lines.append("  restart     moto keeps S3 in memory: the next start is a fresh instance (databases dropped)")
    return "\n".join(lines)


def clean(workdir: Path) -> int:
    """`make clean`: drop the PostgreSQL databases this stack created; refuses while it runs."""
    pid_file = workdir / PID_FILE
    if pid_file.exists() and pid_alive(int(pid_file.read_text().split()[0])):
        print(f"the stack is running (pid file {pid_file}): stop it first", file=sys.stderr)
        return 1
    # The settings the stack ran with (its stack.env) over .env: the server its databases are on.
    settings = Settings.from_env(dotenv_files=(REPO_ROOT / ".env.example", REPO_ROOT / ".env", workdir / ENV_FILE))
    stack = Stack(StackConfig.from_settings(settings), workdir=workdir)
    if not stack.owned_databases():
        return 0
    for name in stack.drop_created_databases():
        print(f"dropped database {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="logs, DAGSTER_HOME, minio data")
    parser.add_argument("--no-api", action="store_true", help="do not start the serving API")
    parser.add_argument("--drop-databases", action="store_true",
                        help="drop the PostgreSQL databases the stack created, then exit (`make clean`)")
    args = parser.parse_args(argv)
    if args.drop_databases:
        return clean(args.workdir)

    stop = threading.Event()
    starting = True

    def request_stop(signum: int, _frame: object) -> None:
        stop.set()
        if starting:
            # Interrupt a start that may wait minutes for a health check; start() stops what it began.
            raise KeyboardInterrupt

    # SIGTERM as well as Ctrl-C: `make` and process managers stop us with SIGTERM.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    env_file = args.workdir / ENV_FILE
    saved = read_dotenv(env_file) if env_file.exists() else {}
    stack = Stack(
        StackConfig.from_settings(stack_settings(), saved), workdir=args.workdir,
        with_api=False if args.no_api else None,
    )  # fmt: skip
    try:
        stack.start()
        starting = False
        print(format_table(stack), flush=True)
        print(next_steps(stack), flush=True)
        print("Ctrl-C stops the stack.", flush=True)
        while not stop.wait(1.0):
            crashed = [s for s in stack.services if s.process is not None and s.process.poll() is not None]
            if crashed:
                print(f"{crashed[0].name} exited; see {crashed[0].log_path}", file=sys.stderr)
                return 1
        return 0
    except StackError as exc:
        print(f"stack failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
