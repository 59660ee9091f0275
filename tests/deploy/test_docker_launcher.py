"""The DockerRunLauncher in real containers: docker-compose.yml's stack with a container engine, a scoring file
landed in its S3 lake, the scoring run's container killed with SIGKILL (`<engine> kill --signal KILL`, what the
kernel's OOM killer or `kill -9` does) while it runs. Run monitoring must find the container gone, fail the run,
and the instance's run_retries must start a retry that succeeds. Prints the seconds from the kill to the failure
and to the retry's start.

Needs a Docker API at /var/run/docker.sock (the daemon's launcher uses it) and either Docker with `docker compose`
or rootful podman with podman-compose (on PATH or named by PODMAN_COMPOSE) whose base images are in the local store
(../shared/tools/compose-check builds stand-ins for them). Skipped when there is none: the suite's machines usually
have no engine. About 10-15 min on two cores, most of it building the image and the first retrain.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bodyfat_assets.defs.jobs import SCORE_JOB
from bodyfat_assets.feed import feed
from bodyfat_assets.settings import Settings, read_dotenv
from bodyfat_assets.testing.services import wait_until
from scripts.stack import REPO_ROOT
from tests.support.deploy import COMPOSE_PATH, ENV_EXAMPLE, SECRET_RE, one_shot_services

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
DOCKER_SOCKET = Path("/var/run/docker.sock")
PORT_OFFSET = 30000  # compose-check uses +20000: both can run side by side
STAGE_TIMEOUT_S = 420
CHAMPION_TIMEOUT_S = 900
RUN_TIMEOUT_S = 600
SCORING_ROWS = 200_000  # a few seconds of scoring: the kill lands while the run works


def _ok(*cmd: str) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=60, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Engine:
    """`docker` + `docker compose`, or `podman` + podman-compose, on one compose project."""

    cli: str
    compose_cmd: list[str]
    project: str
    project_dir: Path
    env_file: Path
    log: Path
    waits_for_health: bool  # docker compose `up --wait`; podman before 4.6 cannot wait for health
    env: dict[str, str] = field(default_factory=lambda: {
        # Compose reads the shell's variables before .env: none of the test process's may leak in.
        name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ})

    @classmethod
    def find(cls, project: str, workdir: Path) -> Engine | None:
        if not DOCKER_SOCKET.exists():
            return None
        project_dir = workdir / "project"
        files = ["-p", project, "-f", str(project_dir / COMPOSE_PATH.name), "--env-file", str(workdir / ".env")]
        common = {"project": project, "project_dir": project_dir, "env_file": workdir / ".env",
                  "log": workdir / "compose.log"}
        if shutil.which("docker") and _ok("docker", "compose", "version") and _ok("docker", "info"):
            return cls("docker", ["docker", "compose", *files], waits_for_health=True, **common)
        podman_compose = os.environ.get("PODMAN_COMPOSE") or shutil.which("podman-compose")
        if shutil.which("podman") and podman_compose and _ok("podman", "info"):
            return cls("podman", [podman_compose, *files], waits_for_health=False, **common)
        return None

    def compose(self, *args: str, check: bool = True) -> None:
        with self.log.open("a") as out:
            subprocess.run([*self.compose_cmd, *args], cwd=self.project_dir, env=self.env, stdout=out,
                           stderr=subprocess.STDOUT, check=check, timeout=1800)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.cli, *args], capture_output=True, text=True, check=False, timeout=120)

    def container(self, service: str) -> str | None:
        out = self.run("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                       "--filter", f"label=com.docker.compose.service={service}").stdout.split()
        return out[0] if out else None

    def up(self, services: dict[str, dict[str, Any]]) -> None:
        # A copy of the checkout's tracked and unignored files is the build context: podman 4.3 does not read
        # docker/*.Dockerfile.dockerignore, and .venv alone is 1.5 GB. One service per image: podman-compose would
        # build the platform image once for each of the five services that share it, all at once.
        listed = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=REPO_ROOT,
                                capture_output=True, check=True).stdout.split(b"\0")
        for name in filter(None, map(os.fsdecode, listed)):
            if (REPO_ROOT / name).is_file():
                (self.project_dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / name, self.project_dir / name)
        builds = {service["image"]: name for name, service in services.items() if "build" in service}
        self.compose("build", *sorted(builds.values()))
        if self.waits_for_health:
            self.compose("up", "-d", "--wait")
            return
        # podman-compose ignores `service_healthy` on podman < 4.6, and without systemd nothing runs the health
        # checks: start stage by stage along depends_on and run each check until it passes.
        one_shot = one_shot_services(services)
        started: set[str] = set()
        while len(started) < len(services):
            stage = sorted(name for name, service in services.items() if name not in started
                           and set(service.get("depends_on") or {}) <= started)
            assert stage, f"depends_on cycle among {sorted(set(services) - started)}"
            self.compose("up", "-d", "--no-deps", *stage)
            for name in stage:
                wait_until(lambda name=name: self._ready(name, name in one_shot), STAGE_TIMEOUT_S,
                           f"service {name}", interval_s=3)
            started |= set(stage)

    def _ready(self, service: str, one_shot: bool) -> bool:
        container = self.container(service)
        if container is None:
            return False
        if one_shot:
            state = self.run("inspect", "--format", "{{.State.Status}}/{{.State.ExitCode}}", container).stdout
            assert not (state.startswith("exited/") and state.strip() != "exited/0"), f"{service}: {state}"
            return state.strip() == "exited/0"
        return self.run("healthcheck", "run", container).returncode == 0

    def down(self) -> None:
        self.compose("down", "-v", "-t", "10", check=False)
        # Run containers the launcher started on the project's network, should any be left.
        network = f"{self.project}_default"
        leftovers = self.run("ps", "-aq", "--filter", f"network={network}").stdout.split()
        if leftovers:
            self.run("rm", "-f", *leftovers)
        self.run("network", "rm", network)


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _write_env(path: Path) -> dict[str, str]:
    """.env.example with random secrets, every port moved by PORT_OFFSET, sensors on and polling every 5 s."""
    values = read_dotenv(ENV_EXAMPLE)
    for name, value in values.items():
        if SECRET_RE.search(name) and not value:
            values[name] = f"k{secrets.token_hex(8)}"
        elif name.endswith("_PORT"):
            values[name] = str(int(value) + PORT_OFFSET)
            if not _free(int(values[name])):
                pytest.skip(f"port {values[name]} ({name} + {PORT_OFFSET}) is taken")
    values |= {"BODYFAT_SENSORS": "running", "BODYFAT_SENSOR_INTERVAL_S": "5", "BODYFAT_SERVING_POLL_INTERVAL_S": "5"}
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return values


def _json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("docker_launcher")
    engine = Engine.find(f"bodyfatkill{uuid.uuid4().hex[:6]}", workdir)
    if engine is None:
        pytest.skip("no container engine with a Docker API at /var/run/docker.sock (Docker with `docker compose`, "
                    "or podman with podman-compose): nothing to launch run containers with")
    values = _write_env(engine.env_file)
    services = {name: service for name, service in yaml.safe_load(COMPOSE_PATH.read_text())["services"].items()
                if not service.get("profiles")}
    try:
        engine.up(services)
        yield engine, values
    finally:
        for service in ("dagster-daemon", "dagster-code"):
            if container := engine.container(service):
                (workdir / f"{service}.log").write_text(engine.run("logs", container).stdout)
        engine.down()
        print(f"\ncompose log and service logs in {workdir}")


@pytest.fixture
def instance(stack: tuple[Engine, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The stack's Dagster instance, read from the host through PostgreSQL's published port."""
    from dagster import DagsterInstance

    _, values = stack
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_PORT", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, values[name])
    monkeypatch.setenv("POSTGRES_HOST", "127.0.0.1")
    shutil.copyfile(COMPOSE_PATH.parent / "docker" / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def _land_scoring_file(values: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", values["MINIO_ROOT_USER"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", values["MINIO_ROOT_PASSWORD"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", values["AWS_DEFAULT_REGION"])
    settings = Settings.from_env({
        **{name: values[name] for name in ("BODYFAT_BUCKET", "BODYFAT_LAKE_PREFIX", "BODYFAT_LANDING_PREFIX")},
        "BODYFAT_ENV": "production",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{values['MINIO_PORT']}",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{values['MLFLOW_PORT']}",
        "OPTUNA_STORAGE": "unused-here",
    })
    (url,) = feed(settings, labeled=0, scoring=1, rows=SCORING_ROWS, fmt="parquet")
    return url


def test_a_killed_run_container_is_failed_and_retried(stack, instance, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import DagsterRunStatus, RunsFilter

    engine, values = stack
    # Scoring needs a champion: wait until the sensors have ingested the seed, retrained and promoted.
    api = f"http://127.0.0.1:{values['API_PORT']}"
    wait_until(lambda: (_json(f"{api}/ready") or {}).get("source") == "registry", CHAMPION_TIMEOUT_S,
               "a registry champion served by the API", interval_s=5)
    before = {run.run_id for run in instance.get_runs(RunsFilter(job_name=SCORE_JOB))}
    landed = _land_scoring_file(values, monkeypatch)

    def started_scoring_run():
        runs = instance.get_runs(RunsFilter(job_name=SCORE_JOB, statuses=[DagsterRunStatus.STARTED]))
        return next((run for run in runs if run.run_id not in before and "docker/container_id" in run.tags), None)

    wait_until(lambda: started_scoring_run() is not None, RUN_TIMEOUT_S, f"a STARTED scoring run for {landed}", 0.5)
    run = started_scoring_run()
    container = run.tags["docker/container_id"]
    assert engine.run("inspect", "--format", "{{.Config.Image}}", container).stdout.strip().endswith(
        "bodyfat/platform:local"), "the run must start from the code location's image"
    killed = engine.run("kill", "--signal", "KILL", container)
    t_kill = time.time()
    assert killed.returncode == 0, killed.stderr

    wait_until(lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE, RUN_TIMEOUT_S,
               "the killed run marked failed", interval_s=1)
    failed_at = instance.get_run_record_by_id(run.run_id).end_time

    def retry():
        runs = instance.get_runs(RunsFilter(tags={"dagster/parent_run_id": run.run_id}))
        return runs[0] if runs else None

    wait_until(lambda: retry() is not None and instance.get_run_record_by_id(retry().run_id).start_time,
               RUN_TIMEOUT_S, "the retry started", interval_s=1)
    record = instance.get_run_record_by_id(retry().run_id)
    wait_until(lambda: instance.get_run_by_id(record.dagster_run.run_id).is_finished, RUN_TIMEOUT_S,
               "the retry finished", interval_s=2)
    final = instance.get_run_by_id(record.dagster_run.run_id)
    print(f"\nkill -> run failed: {failed_at - t_kill:.1f} s; kill -> retry enqueued: "
          f"{record.create_timestamp.timestamp() - t_kill:.1f} s; kill -> retry started: "
          f"{record.start_time - t_kill:.1f} s; retry {final.status.value} ({engine.cli})")
    assert final.status == DagsterRunStatus.SUCCESS
    assert final.tags.get("docker/container_id") not in (None, container), "the retry ran in a container of its own"
    # auto_remove: neither the killed container nor the finished retry's is left behind.
    for gone in (container, final.tags["docker/container_id"]):
        wait_until(lambda gone=gone: engine.run("inspect", gone).returncode != 0, 60, f"container {gone[:12]} removed")
