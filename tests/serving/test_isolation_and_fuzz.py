"""The serving app stays free of Dagster, and a schema-driven fuzz of the OpenAPI spec never finds a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.app import create_app
from serving.settings import ServingSettings

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")


# Makes the pipeline package (and Dagster) unimportable, as in the serving image, which installs only
# `bodyfat_contract`: any `import bodyfat_assets` left in serving/ fails here.
_BLOCK_PIPELINE = """
import sys
from importlib.abc import MetaPathFinder

class Block(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'bodyfat_assets', 'dagster', 'optuna'}:
            raise ImportError(f'{name} is blocked: serving must not import it')
        return None

sys.meta_path.insert(0, Block())
"""


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_serving_app_imports_without_dagster_or_the_pipeline_package() -> None:
    code = _BLOCK_PIPELINE + (
        "from serving.app import create_app\n"
        "from serving.__main__ import main\n"
        "import serving.fallback.build_fallback\n"
        "create_app()\n"
        "heavy = {'dagster', 'optuna', 'boto3', 'bodyfat_assets'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    assert _run_python(code) == "[]"


def test_the_contract_needs_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import bodyfat_contract\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new - set(sys.stdlib_module_names) - {'bodyfat_contract'}))\n"
    )
    assert _run_python(code) == "[]"


# A fresh in-process app with a registry model; the API key and admin token are left off so the fuzzer
# exercises validation rather than authentication.
_app = create_app(
    ServingSettings(poll_interval_s=3600, tracking_uri="http://127.0.0.1:9", max_batch_rows=50),
    source=FakeSource({"1": registry_model("1")}, champion="1"),
)
_app.state.store.start()  # in case the ASGI client skips the lifespan: the fuzz must reach the model, not a 503
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


def test_fuzz_target_serves_a_model() -> None:
    from fastapi.testclient import TestClient

    from serving.schemas import EXAMPLE_RECORD

    response = TestClient(_app).post("/predict", json=EXAMPLE_RECORD)
    assert response.status_code == 200 and response.json()["model_version"] == "1"


# One test per API operation, each with its own node id. schemathesis's `schema.parametrize()` gives all of its
# items one node id, and pytest-xdist then ran one operation of 19 under `make test` (14 of 32 items reported).
OPERATIONS = [result.ok() for result in schema.get_all_operations()]


def test_the_fuzz_covers_every_route_the_spec_names() -> None:
    labels = {operation.label for operation in OPERATIONS}
    assert {"POST /predict", "POST /predict/batch", "POST /invocations"} <= labels, labels
    assert len(labels) == len(OPERATIONS) >= 15, sorted(labels)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[operation.label for operation in OPERATIONS])
def test_openapi_fuzz_never_5xx(operation) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def never_5xx(case) -> None:
        response = case.call()
        assert response.status_code < 500, response.text
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

    never_5xx()
