"""A 100,000-row JSON body under the byte cap is refused by its row count before it is parsed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serving.routes.predict import batch_max_bytes
from serving.schemas import DEFAULT_MAX_ROWS, EXAMPLE_RECORD
from tests.support.serving_process import ServingProcess, serving_process

ROWS = 100_000


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingProcess]:
    with serving_process(Path(tmp_path_factory.mktemp("rowcap"))) as api:
        yield api


# Each body lacks its closing brackets: parsed whole it would be a 422/400 (invalid JSON); counted, a 413.
BODIES = {
    "/predict/batch": json.dumps({"columns": {name: [1] * ROWS for name in EXAMPLE_RECORD}})[:-2],
    "/invocations": json.dumps({"dataframe_split": {"columns": list(EXAMPLE_RECORD), "data": [[1] * 13] * ROWS}})[:-2],
}


@pytest.mark.parametrize("path", BODIES)
def test_a_100k_row_body_under_the_byte_cap_is_refused_unparsed(api: ServingProcess, path: str) -> None:
    body = BODIES[path]
    assert len(body) < batch_max_bytes(DEFAULT_MAX_ROWS), "under the byte cap: only the row count can refuse it"
    response = httpx.post(f"{api.url}{path}", content=body, headers={"Content-Type": "application/json"}, timeout=60)
    assert response.status_code == 413, response.text[:300]
    assert response.json()["code"] == "batch_too_large" and f"{ROWS} rows" in response.text


def test_a_batch_at_the_cap_is_still_served(api: ServingProcess) -> None:
    body = {"columns": {name: [value] * DEFAULT_MAX_ROWS for name, value in EXAMPLE_RECORD.items()}}
    response = httpx.post(f"{api.url}/predict/batch", json=body, timeout=60)
    assert response.status_code == 200 and response.json()["n"] == DEFAULT_MAX_ROWS
