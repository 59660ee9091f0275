# syntax=docker/dockerfile:1
# One image for the Dagster user-code gRPC server, the webserver, the daemon and the MLflow tracking server:
# they share the project's pinned dependency set, so a run executes with exactly the code the UI shows.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    BODYFAT_HOME=/opt/dagster/bodyfat_home

WORKDIR /opt/dagster/app

# The build context is the repository root; docker/dagster.Dockerfile.dockerignore keeps .venv, .git and local
# state out of it.
COPY . .
RUN pip install .

# `pip install .` puts a copy of the package in site-packages, where `settings.PROJECT_ROOT` would no longer find
# data/ and `dg.load_from_defs_folder` no longer find pyproject.toml's [tool.dg]. Putting the source tree first on
# sys.path keeps one import location, next to the seed dataset and the project file.
ENV PYTHONPATH=/opt/dagster/app

# Instance config and workspace live in DAGSTER_HOME; `storage/` is a named volume shared by the run containers
# (which write compute logs there), the webserver (which reads them), the code server and the daemon.
RUN mkdir -p "$DAGSTER_HOME/storage" "$BODYFAT_HOME" \
    && cp docker/dagster.yaml "$DAGSTER_HOME/dagster.yaml" \
    && cp docker/workspace.docker.yaml "$DAGSTER_HOME/workspace.yaml" \
    && useradd --uid 10001 --create-home --shell /usr/sbin/nologin bodyfat \
    && chown -R bodyfat:bodyfat "$DAGSTER_HOME" "$BODYFAT_HOME"

USER bodyfat

# No CMD/EXPOSE: docker-compose.yml gives each service its command and ports, which come from .env.
