"""Static validation of docker-compose.yml, the Dockerfiles and the Dagster configs.

Nothing here builds or starts a container (tests/deploy/test_docker_launcher.py does, where an engine exists):
these tests check what compose and the image would need (files, modules, variables, ports, health checks, pinned
images) and that Dagster itself accepts docker/dagster.yaml and docker/workspace.docker.yaml.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bodyfat_assets.settings import read_dotenv
from scripts.stack import REPO_ROOT, Stack, StackConfig
from tests.support.deploy import COMPOSE_PATH, ENV_EXAMPLE, SECRET_RE, one_shot_services

# `${VAR}`, `${VAR:?msg}`, `${VAR:-default}`; `$${...}` is an escaped `$` for the container shell and is skipped.
VAR_RE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
COMPOSE_PROVIDED = {"COMPOSE_PROJECT_NAME"}  # compose sets it for interpolation: the project name
# The code location's DockerRunLauncher settings (docker/dagster.yaml): compose only; `make stack` has no Docker.
DOCKER_LAUNCHER_ONLY = {"DAGSTER_CURRENT_IMAGE", "DAGSTER_CONTAINER_CONTEXT"}
# The code server's variables a run container does not read: the gRPC address (workspace only), the databases of
# the MLflow and Optuna servers (runs reach them over HTTP and OPTUNA_STORAGE), MLflow's S3 endpoint (the server
# proxies artifacts).
# The Celery profile's broker and backend: every Dagster service gets them (docker/dagster.celery.yaml reads them
# when DAGSTER_INSTANCE_YAML selects it); `make stack` and the Docker launcher's run containers do not use them.
CELERY_PROFILE_ONLY = {"DAGSTER_CELERY_BROKER_URL", "DAGSTER_CELERY_BACKEND_URL"}
DAGSTER_SERVICES = ("dagster-code", "dagster-webserver", "dagster-daemon", "dagster-worker")
NOT_FOR_RUNS = {"DAGSTER_GRPC_HOST", "DAGSTER_GRPC_PORT", "MLFLOW_PG_DB", "OPTUNA_PG_DB", "MLFLOW_S3_ENDPOINT_URL"}
EXPECTED_SERVICES = {
    "postgres", "minio", "minio-init", "mlflow", "dagster-code", "dagster-webserver", "dagster-daemon", "api",
}  # fmt: skip


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_PATH.read_text()


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_dotenv(ENV_EXAMPLE)


def _interpolate(text: str, values: dict[str, str]) -> str:
    """Compose-style `${VAR...}` substitution with .env.example values (secrets get a placeholder)."""
    return VAR_RE.sub(lambda m: values.get(m.group(1)) or f"placeholder-{m.group(1).lower()}", text)


def _dockerfiles(services: dict[str, dict[str, Any]]) -> Iterator[Path]:
    for service in services.values():
        build = service.get("build")
        if build:
            yield REPO_ROOT / build["context"] / build.get("dockerfile", "Dockerfile")


def test_compose_parses_with_every_service(services: dict[str, dict[str, Any]]) -> None:
    assert EXPECTED_SERVICES <= set(services)


def test_build_contexts_and_dockerfiles_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build is None:
            assert service.get("image"), f"{name}: neither build nor image"
            continue
        context = REPO_ROOT / build["context"]
        assert context.is_dir(), f"{name}: build context {context} missing"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile.relative_to(REPO_ROOT)} missing"


def _module_exists(module: str) -> bool:
    base = REPO_ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def test_command_modules_and_files_exist(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        command = service.get("command")
        if "build" not in service or not isinstance(command, list):
            continue  # third-party images (postgres, minio, mc) bring their own commands
        for flag, value in itertools.pairwise(command):
            if flag != "-m":
                continue
            if command[0] == "python":
                # `python -m pkg` runs pkg/__main__.py; `python -m pkg.mod` runs pkg/mod.py
                path = REPO_ROOT / value.replace(".", "/")
                assert (path / "__main__.py").is_file() or path.with_suffix(".py").is_file(), (
                    f"{name}: nothing runnable at {value}")
            else:
                assert _module_exists(value), f"{name}: module {value} not found in the repository"
        # Console scripts the image gets from `pip install .`; the project venv holds the same dependency set.
        executable = command[0]
        assert (Path(sys.executable).parent / executable).exists() or shutil.which(executable), (
            f"{name}: executable {executable} not installed by the project's dependencies"
        )


def test_image_files_referenced_by_compose_exist(compose_text: str) -> None:
    dockerfile = (REPO_ROOT / "docker" / "dagster.Dockerfile").read_text()
    for copied in re.findall(r"cp (docker/\S+)", dockerfile):
        assert (REPO_ROOT / copied).is_file(), f"dagster.Dockerfile copies missing {copied}"
    # The services point at the workspace the image installs into DAGSTER_HOME.
    assert '"$DAGSTER_HOME/workspace.yaml"' in dockerfile
    assert "/opt/dagster/dagster_home/workspace.yaml" in compose_text
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in dockerfile
    for mount in re.findall(r"\./(docker/[^:\s]+):", compose_text):
        assert (REPO_ROOT / mount).is_file(), f"bind mount source {mount} missing"


def test_every_variable_is_in_env_example(compose_text: str, env_example: dict[str, str]) -> None:
    used = {m.group(1) for m in VAR_RE.finditer(compose_text)}
    missing = used - set(env_example) - COMPOSE_PROVIDED
    assert not missing, f"variables used in docker-compose.yml but absent from .env.example: {sorted(missing)}"


def test_secrets_have_no_default(compose_text: str, env_example: dict[str, str]) -> None:
    for match in VAR_RE.finditer(compose_text):
        name, op = match.group(1), match.group(2)
        if SECRET_RE.search(name):
            assert op != ":-" and op != "-", f"secret {name} has a default in docker-compose.yml"
    for name, value in env_example.items():
        if SECRET_RE.search(name):
            assert value == "", f".env.example gives secret {name} a value"
            assert f"${{{name}:?" in compose_text, f"compose must refuse to start without {name} (${{{name}:?}})"


def test_no_value_is_written_twice(compose_text: str, env_example: dict[str, str]) -> None:
    # Ports, buckets and the region live once, in .env.example; compose only refers to them.
    for name, value in env_example.items():
        if name.endswith(("_PORT", "_BUCKET")) or name == "AWS_DEFAULT_REGION":
            assert not re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", compose_text), (
                f"{name}'s value {value!r} is written literally in docker-compose.yml"
            )


def test_published_host_ports_are_unique(compose_text: str, env_example: dict[str, str]) -> None:
    rendered = yaml.safe_load(_interpolate(compose_text, env_example))
    published: list[str] = []
    for service in rendered["services"].values():
        for port in service.get("ports", []):
            parts = str(port).split(":")
            assert len(parts) >= 2, f"port {port} publishes no explicit host port"
            published.append(parts[-2])
    assert published and len(published) == len(set(published)), published


def _on_demand(services: dict[str, dict[str, Any]]) -> set[str]:
    """Jobs started by hand (`--profile jobs run`), never by a plain `up`."""
    return {name for name, service in services.items() if "jobs" in service.get("profiles", [])}


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    one_shot = one_shot_services(services)
    assert one_shot == {"minio-init"}
    assert _on_demand(services) == {"tuning-worker"}
    for name, service in services.items():
        if name in one_shot | _on_demand(services):
            assert service.get("restart") == "no", f"{name} is a one-shot job and must not restart"
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_depends_on_targets_exist_and_use_conditions(services: dict[str, dict[str, Any]]) -> None:
    one_shot = one_shot_services(services)
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on must be a mapping with conditions"
        for target, dep in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            expected = "service_completed_successfully" if target in one_shot else "service_healthy"
            assert dep.get("condition") == expected, f"{name} -> {target}: condition must be {expected}"


def test_volumes_are_named_and_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} not declared at top level"


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"


@pytest.mark.parametrize("dockerfile", ["dagster.Dockerfile", "serving.Dockerfile"])
def test_dockerfiles_pin_base_and_drop_root(dockerfile: str) -> None:
    path = REPO_ROOT / "docker" / dockerfile
    if not path.exists():
        pytest.fail(f"docker/{dockerfile} missing (docker-compose.yml builds it)")
    lines = [line.strip() for line in path.read_text().splitlines()]
    stages: set[str] = set()
    for line in lines:
        if not line.upper().startswith("FROM "):
            continue
        words = line.split()
        base = next(w for w in words[1:] if not w.startswith("--"))
        if base.lower() not in stages:  # FROM an earlier stage needs no pin
            _, _, tag = base.partition("@")[0].rpartition("/")[-1].partition(":")
            assert "@sha256:" in base or (tag and tag != "latest"), f"{dockerfile}: base {base} is not pinned"
        if len(words) >= 4 and words[-2].upper() == "AS":
            stages.add(words[-1].lower())
    assert stages or any(line.upper().startswith("FROM ") for line in lines), f"{dockerfile}: no FROM"
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    users = [line.split()[1] for line in lines[last_from:] if line.upper().startswith("USER ")]
    assert users and users[-1] not in {"root", "0", "0:0"}, f"{dockerfile}: final stage must run as a non-root USER"


def _dagster_env(env_example: dict[str, str]) -> dict[str, str]:
    return {
        "POSTGRES_USER": "bodyfat",
        "POSTGRES_PASSWORD": "s3cret",
        "POSTGRES_HOST": "db.internal",
        "POSTGRES_PORT": env_example["POSTGRES_PORT"],
        "DAGSTER_PG_DB": env_example["DAGSTER_PG_DB"],
        "DAGSTER_GRPC_HOST": "dagster-code",
        "DAGSTER_GRPC_PORT": env_example["DAGSTER_GRPC_PORT"],
    }


def test_dagster_instance_config_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_example: dict[str, str]
) -> None:
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config, dagster_instance_config_schema

    for key, value in _dagster_env(env_example).items():
        monkeypatch.setenv(key, value)
    shutil.copyfile(REPO_ROOT / "docker" / "dagster.yaml", tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_launcher"]["class"] == "DockerRunLauncher"
    assert config["telemetry"]["enabled"] is False

    # Validation keeps `env:` references; processing resolves them the way the services will at start-up.
    resolved = process_config(dagster_instance_config_schema(), config)
    assert resolved.success, resolved.errors
    pg = resolved.value["storage"]["postgres"]["postgres_db"]
    assert pg["scheme"] == "postgresql+psycopg2"
    assert (pg["hostname"], pg["username"], pg["password"]) == ("db.internal", "bodyfat", "s3cret")
    assert pg["port"] == int(env_example["POSTGRES_PORT"])
    assert pg["db_name"] == env_example["DAGSTER_PG_DB"]


def test_dagster_storage_class_accepts_config(monkeypatch: pytest.MonkeyPatch, env_example: dict[str, str]) -> None:
    from dagster_postgres import DagsterPostgresStorage
    from dagster_postgres.utils import pg_url_from_config

    for key, value in _dagster_env(env_example).items():
        monkeypatch.setenv(key, value)
    raw = yaml.safe_load((REPO_ROOT / "docker" / "dagster.yaml").read_text())["storage"]["postgres"]
    from dagster._config import process_config

    resolved = process_config(DagsterPostgresStorage.config_type(), raw)
    assert resolved.success, resolved.errors
    url = pg_url_from_config(resolved.value)
    assert url.startswith("postgresql+psycopg2://bodyfat:s3cret@db.internal:")


def test_workspace_config_is_valid(monkeypatch: pytest.MonkeyPatch, env_example: dict[str, str]) -> None:
    from dagster._core.workspace.config_schema import ensure_workspace_config

    for key, value in _dagster_env(env_example).items():
        monkeypatch.setenv(key, value)
    path = REPO_ROOT / "docker" / "workspace.docker.yaml"
    config = ensure_workspace_config(yaml.safe_load(path.read_text()), str(path))
    grpc = config["load_from"][0]["grpc_server"]
    assert (grpc["host"], grpc["port"]) == ("dagster-code", int(env_example["DAGSTER_GRPC_PORT"]))


def test_postgres_init_creates_the_three_databases() -> None:
    script = (REPO_ROOT / "docker" / "postgres" / "init.sh").read_text()
    for var in ("DAGSTER_PG_DB", "MLFLOW_PG_DB", "OPTUNA_PG_DB"):
        assert f"${var}" in script


def test_compose_and_stack_give_services_the_same_variables(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    # scripts/stack.py must be the compose topology on loopback: same variable names for the Dagster services.
    stack_env = StackConfig.from_env(env_example | {"MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p" * 8})
    stack_keys = set(stack_env.service_env(Path("/h"), Path("/b"))) - {"DAGSTER_HOME", "BODYFAT_HOME"}
    for name in ("dagster-code", "dagster-webserver", "dagster-daemon"):
        compose_keys = (set(services[name]["environment"]) - {"DAGSTER_WEBSERVER_PORT"} - DOCKER_LAUNCHER_ONLY
                        - CELERY_PROFILE_ONLY)
        assert compose_keys == stack_keys, f"{name}: {sorted(compose_keys ^ stack_keys)}"


def _launcher_config() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "docker" / "dagster.yaml").read_text())["run_launcher"]["config"]


def test_run_containers_get_every_variable_a_run_reads(services: dict[str, dict[str, Any]]) -> None:
    env_vars = _launcher_config()["env_vars"]
    assert len(env_vars) == len(set(env_vars))
    # The launcher reads each value from the daemon's environment when it launches (and fails if one is unset).
    assert set(env_vars) <= set(services["dagster-daemon"]["environment"])
    code_env = set(services["dagster-code"]["environment"]) - DOCKER_LAUNCHER_ONLY - CELERY_PROFILE_ONLY
    assert set(env_vars) == code_env - NOT_FOR_RUNS, "a run must see the code server's configuration"


def test_runs_start_from_the_code_image_on_the_compose_network(
    compose_text: str, services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    code_env = services["dagster-code"]["environment"]
    assert code_env["DAGSTER_CURRENT_IMAGE"] == services["dagster-code"]["image"]
    assert _launcher_config()["container_kwargs"]["auto_remove"] is True
    # Compose names the default network and the volumes <project>_<name>.
    project = "bodyfat"
    rendered = _interpolate(code_env["DAGSTER_CONTAINER_CONTEXT"], env_example | {"COMPOSE_PROJECT_NAME": project})
    docker = json.loads(rendered)["docker"]
    assert docker["networks"] == [f"{project}_default"]
    assert yaml.safe_load(compose_text)["name"] == project
    storage = next(v for v in services["dagster-code"]["volumes"] if v.startswith("dagster_storage:"))
    assert docker["container_kwargs"]["volumes"] == [f"{project}_{storage}"]
    for name in ("dagster-daemon", "dagster-webserver"):  # the daemon launches, the webserver terminates
        assert "/var/run/docker.sock:/var/run/docker.sock" in services[name]["volumes"], name


def test_make_stack_runs_start_with_the_default_launcher(tmp_path: Path, env_example: dict[str, str]) -> None:
    # `make stack` has no Docker: the same instance config without `run_launcher` (Dagster's default).
    from dagster._core.instance.config import dagster_instance_config

    config = StackConfig.from_env(env_example | {"MINIO_ROOT_USER": "u", "MINIO_ROOT_PASSWORD": "p" * 8})
    stack = Stack(config, workdir=tmp_path)
    stack._write_dagster_home()
    written, _ = dagster_instance_config(str(stack.dagster_home))
    production = yaml.safe_load((REPO_ROOT / "docker" / "dagster.yaml").read_text())
    assert "run_launcher" not in written
    assert written == {key: value for key, value in production.items() if key != "run_launcher"}


def test_workers_profile_adds_redis_and_workers_and_leaves_plain_up_alone(
    services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    profiled = {name: service["profiles"] for name, service in services.items() if service.get("profiles")}
    assert profiled == {"redis": ["workers"], "dagster-worker": ["workers"], "tuning-worker": ["jobs"]}
    # What a plain `docker compose up` starts is what it started before the profile existed.
    assert set(services) - set(profiled) == EXPECTED_SERVICES
    # By default every Dagster service reads docker/dagster.yaml: each run in its own container.
    assert env_example["DAGSTER_INSTANCE_YAML"] == "docker/dagster.yaml"
    worker = services["dagster-worker"]
    assert worker["image"] == services["dagster-code"]["image"], "workers run the code location's image"
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    command = worker["command"]
    assert command[:3] == ["dagster-celery", "worker", "start"]
    config_yaml = command[command.index("-y") + 1]
    assert config_yaml == "/opt/dagster/app/docker/celery_worker.yaml"  # the image copies the repository there
    assert (REPO_ROOT / "docker" / "celery_worker.yaml").is_file()
    assert command[command.index("--") + 1:] == ["--concurrency=1"], "one run per worker container"
    instance = yaml.safe_load((REPO_ROOT / "docker" / "dagster.celery.yaml").read_text())
    assert command[command.index("-q") + 1] == instance["run_launcher"]["config"]["default_queue"]
    # The worker's name is the one its health check pings.
    assert 'dagster@$$HOSTNAME' in " ".join(worker["healthcheck"]["test"])
    assert command[command.index("-n") + 1] == "dagster"
    # A persistent result backend: append-only Redis on a named volume.
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


def test_every_dagster_service_reads_the_same_instance_and_broker(
    compose_text: str, services: dict[str, dict[str, Any]], env_example: dict[str, str]
) -> None:
    rendered = yaml.safe_load(_interpolate(compose_text, env_example))["services"]
    mounts = {name: [v for v in rendered[name]["volumes"] if v.endswith(":/opt/dagster/dagster_home/dagster.yaml:ro")]
              for name in DAGSTER_SERVICES}
    assert all(mount == [f"./{env_example['DAGSTER_INSTANCE_YAML']}:/opt/dagster/dagster_home/dagster.yaml:ro"]
               for mount in mounts.values()), mounts
    for option in ("docker/dagster.yaml", "docker/dagster.celery.yaml"):
        assert (REPO_ROOT / option).is_file()
    launcher = yaml.safe_load((REPO_ROOT / "docker" / "dagster.celery.yaml").read_text())["run_launcher"]["config"]
    worker = yaml.safe_load((REPO_ROOT / "docker" / "celery_worker.yaml").read_text())["execution"]["config"]
    for key in ("broker", "backend"):
        variable = launcher[key]["env"]
        assert worker[key] == launcher[key], f"worker and launcher share the {key}"
        for name in DAGSTER_SERVICES:
            assert rendered[name]["environment"][variable] == f"redis://redis:{env_example['REDIS_PORT']}/0", name
    assert rendered["redis"]["command"][rendered["redis"]["command"].index("--port") + 1] == env_example["REDIS_PORT"]


def test_the_celery_instance_builds_its_launcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env_example: dict[str, str]
) -> None:
    from dagster import DagsterInstance

    from bodyfat_assets.celery_launcher import WorkerCheckingCeleryRunLauncher

    monkeypatch.setenv("DAGSTER_CELERY_BROKER_URL", "redis://redis:6379/0")  # never connected to here
    monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", "redis://redis:6379/0")
    config = yaml.safe_load((REPO_ROOT / "docker" / "dagster.celery.yaml").read_text())
    config.pop("storage")  # validated here without its PostgreSQL: SQLite under tmp_path
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(config))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, WorkerCheckingCeleryRunLauncher)
        assert launcher.supports_check_run_worker_health
        assert launcher.celery.conf.result_backend == "redis://redis:6379/0", "a persistent backend, not rpc://"
        assert launcher.default_queue == config["run_launcher"]["config"]["default_queue"]
