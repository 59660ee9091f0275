# Two commands from a fresh clone: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test files run in parallel, each whole on one worker (its module fixtures are set up once): most of the suite's
# time is waiting on real daemons, servers and runs, not CPU. Serial, the suite took 31:42 on this 2-core machine.
TEST_WORKERS ?= 4
export BODYFAT_HOME ?= $(CURDIR)/.bodyfat
export DAGSTER_HOME ?= $(BODYFAT_HOME)/dagster
# `make stack`'s state folder: logs, its DAGSTER_HOME, stack.env (its settings and credentials, mode 0600), stack.pid.
STACK_DIR := $(BODYFAT_HOME)/stack
STACK_ENV := $(STACK_DIR)/stack.env
# True while a `make stack` runs: `make feed` then writes to its S3 lake, never silently to the local folder.
STACK_RUNNING = [ -f "$(STACK_DIR)/stack.pid" ] && kill -0 "$$(cat "$(STACK_DIR)/stack.pid")" 2>/dev/null

.PHONY: help install demo test lint feed health withdraw stack stack-sensors serve bench-serving test-integration tune-worker \
	compose-up compose-down clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/\$$\$$/$$/g' \
		| awk -F':.*## ' '{printf "  %-17s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed  ## create .venv with the pinned dependencies

demo: install  ## materialize every asset on the embedded default, report, then serve Dagster UI + API (Ctrl-C stops)
	$(BIN)/python -m bodyfat_assets.cli demo

test: install  ## ruff, dg check defs, then the whole test suite (CI=true turns PostgreSQL skips into failures)
	$(BIN)/ruff check .
	DAGSTER_HOME=$$(mktemp -d) $(BIN)/dg check defs --no-check-yaml
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install  ## ruff only
	$(BIN)/ruff check .

feed: install  ## drop synthetic batches into the landing zone (2 labeled, 1 to score): a running stack's S3, else local
	@if $(STACK_RUNNING); then \
		echo "make stack is running: feeding its S3 lake (settings from $(STACK_ENV))"; \
		set -a; . "$(STACK_ENV)"; set +a; \
	fi; \
	$(BIN)/python -m bodyfat_assets.cli feed --labeled 2 --scoring 1

health: install  ## the model's health from the embedded state: champion, live error, drift, stale assets, last retrain
	$(BIN)/python -m bodyfat_assets.cli health

withdraw: install  ## take a labeled file back: make withdraw PARTITION=<key> REASON="why" (its rows leave retraining)
	@[ -n "$(PARTITION)" ] && [ -n "$(REASON)" ] || { echo 'usage: make withdraw PARTITION=<key> REASON="why"' >&2; exit 2; }
	$(BIN)/python -m bodyfat_assets.cli withdraw "$(PARTITION)" --reason "$(REASON)"

stack: install  ## the docker-compose topology as local processes on loopback (no Docker); prints the next steps
	$(BIN)/python scripts/stack.py --workdir "$(STACK_DIR)"

stack-sensors: install  ## start the running stack's sensors (stopped by design in production)
	@$(STACK_RUNNING) || { echo "no running make stack under $(STACK_DIR): start it first" >&2; exit 1; }
	@set -a; . "$(STACK_ENV)"; set +a; \
	$(BIN)/dagster sensor start --start-all -w "$(STACK_DIR)/dagster_home/workspace.yaml"

serve: install  ## only the prediction API, against MLFLOW_TRACKING_URI (default: the demo's MLflow)
	MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///$(BODYFAT_HOME)/mlflow.db} \
	BODYFAT_SERVING_HOST=127.0.0.1 OMP_NUM_THREADS=1 $(BIN)/python -m serving

bench-serving: install  ## mlflow models serve vs our API vs a bare FastAPI ceiling (needs wrk: apt-get install wrk)
	$(BIN)/python bench/serving.py

test-integration: install  ## only the tests against real PostgreSQL, S3 (moto), mlflow server and Dagster
	$(BIN)/python -m pytest tests/integration tests/deploy -ra

tune-worker: install  ## add TRIALS (default 20) trials to the current study (production env: OPTUNA_STORAGE etc.)
	$(BIN)/python -m bodyfat_assets.tuning_worker --trials $(or $(TRIALS),20)

compose-up:  ## the production topology under Docker (cp .env.example .env and fill the secrets first)
	docker compose up -d --build

compose-down:  ## stop the Docker topology (keeps its volumes; `docker compose down -v` drops them)
	docker compose down

clean:  ## remove the embedded state and what make stack created, its PostgreSQL databases too; keeps .venv
	@if [ -d "$(STACK_DIR)" ] && [ -x $(BIN)/python ]; then $(BIN)/python scripts/stack.py --workdir "$(STACK_DIR)" --drop-databases; fi
	rm -rf $(BODYFAT_HOME)
