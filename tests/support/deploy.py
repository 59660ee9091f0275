"""What the deploy tests share: the compose file and its variables, and `make stack` values for a test machine."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.engine import make_url

from bodyfat_assets.settings import read_dotenv
from bodyfat_assets.testing.services import PG_ADMIN_DSN, free_port
from scripts.stack import REPO_ROOT

COMPOSE_PATH = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SECRET_RE = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|MINIO_ROOT_USER")


def one_shot_services(services: dict[str, dict[str, Any]]) -> set[str]:
    """Init jobs: what others wait for with `service_completed_successfully`."""
    return {
        target
        for service in services.values()
        for target, dep in (service.get("depends_on") or {}).items()
        if isinstance(dep, dict) and dep.get("condition") == "service_completed_successfully"
    }


def stack_values(prefix: str) -> dict[str, str]:
    """.env.example with this machine's PostgreSQL, ephemeral ports and unique database names."""
    pg = make_url(PG_ADMIN_DSN)
    values = read_dotenv(ENV_EXAMPLE)
    values |= {
        "POSTGRES_USER": pg.username or "postgres",
        "POSTGRES_PASSWORD": pg.password or "",
        "POSTGRES_HOST": pg.host or "127.0.0.1",
        "POSTGRES_PORT": str(pg.port or 5432),
        "DAGSTER_PG_DB": f"{prefix}_dagster",
        "MLFLOW_PG_DB": f"{prefix}_mlflow",
        "OPTUNA_PG_DB": f"{prefix}_optuna",
    }
    for key in ("MINIO_PORT", "MINIO_CONSOLE_PORT", "MLFLOW_PORT", "DAGSTER_WEBSERVER_PORT", "DAGSTER_GRPC_PORT"):
        values[key] = str(free_port())
    values["API_PORT"] = str(free_port())
    return values
