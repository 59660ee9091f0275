"""`/invocations` against MLflow's own scoring server: CSV accepted as MLflow accepts it, and every status that still
differs is the one docs/serving.md documents (the table is read from the page, so the page cannot drift)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.model_store import load_fallback
from serving.schemas import EXAMPLE_RECORD
from serving.settings import FALLBACK_DIR
from tests.support.serving_process import REPO, ServingProcess, serving_process

MAX_ROWS = 5
R = EXAMPLE_RECORD
FRAME = pd.DataFrame([R, {**R, "Abdomen": 110.0}, {**R, "Age": 61.0}]).astype("float64")
JSON = {"Content-Type": "application/json"}
# The request each row of the documented table names, by its first cell.
REQUESTS: dict[str, tuple[str | bytes, dict[str, str]]] = {
    "no `Content-Type` header": (json.dumps({"dataframe_records": [R]}), {}),
    "a value out of range (`Neck` 900)": (json.dumps({"dataframe_records": [{**R, "Neck": 900}]}), JSON),
    'a number sent as a string (`"36.2"`)': (json.dumps({"dataframe_records": [{**R, "Neck": "36.2"}]}), JSON),
    "an unknown column (`Density`)": (json.dumps({"dataframe_records": [{**R, "Density": 1.05}]}), JSON),
    'an empty batch (`{"dataframe_records": []}`)': (json.dumps({"dataframe_records": []}), JSON),
    "JSON nested 5,000 deep": ("[" * 5000 + "]" * 5000, JSON),
    "`Content-Type: application/vnd.apache.parquet`": (b"PAR1", {"Content-Type": "application/vnd.apache.parquet"}),
    "`Content-Encoding: gzip` on a plain body": (json.dumps({"dataframe_records": [R]}),
                                                 {**JSON, "Content-Encoding": "gzip"}),
    "more rows than `BODYFAT_SERVING_MAX_BATCH_ROWS`, or more bytes than 1 KiB a row": (
        json.dumps({"dataframe_records": [R] * (MAX_ROWS + 1)}), JSON),
}  # fmt: skip


def documented_differences() -> dict[str, tuple[int, int]]:
    """{request: (mlflow status, our status)} from the table under "Differences from `mlflow models serve`"."""
    page = (REPO / "docs" / "serving.md").read_text()
    section = page.split("### Differences from `mlflow models serve`", 1)[1].split("\n\n")
    table = next(block for block in section if block.startswith("| request |"))
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table.splitlines()[2:]]
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingProcess]:
    with serving_process(tmp_path_factory.mktemp("parity"), BODYFAT_SERVING_MAX_BATCH_ROWS=str(MAX_ROWS)) as api:
        yield api


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """MLflow 3.17.2's scoring app (what `mlflow models serve` runs) around our fallback model."""
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from mlflow.pyfunc import scoring_server

    estimator = load_fallback(FALLBACK_DIR).estimator
    path = Path(tmp_path_factory.mktemp("mlflow")) / "model"
    mlflow.sklearn.save_model(estimator, str(path), signature=infer_signature(FRAME, estimator.predict(FRAME)))
    return TestClient(scoring_server.init(mlflow.pyfunc.load_model(str(path))), raise_server_exceptions=False)


@pytest.mark.parametrize("index", [False, True], ids=["to_csv(index=False)", "to_csv()"])
def test_csv_is_scored_as_mlflow_scores_it(api: ServingProcess, mlflow_server: TestClient, index: bool) -> None:
    body = FRAME.to_csv(index=index)
    for content_type in ("text/csv", "text/csv; charset=UTF-8"):
        ours = httpx.post(f"{api.url}/invocations", content=body, headers={"Content-Type": content_type})
        theirs = mlflow_server.post("/invocations", content=body, headers={"Content-Type": content_type})
        assert ours.status_code == theirs.status_code == 200, ours.text
        assert ours.json()["predictions"] == pytest.approx(theirs.json()["predictions"], rel=1e-9)
    batch = httpx.post(f"{api.url}/predict/batch", json=FRAME.to_dict("records")).json()
    assert ours.json()["predictions"] == pytest.approx(batch["body_fat_pct"])


def test_bad_csv_and_content_types_get_mlflow_statuses(api: ServingProcess, mlflow_server: TestClient) -> None:
    csv = FRAME.to_csv(index=False)
    cases = {
        "latin-1": (csv, "text/csv; charset=latin-1", 415), "unknown parameter": (csv, "text/csv; header=1", 415),
        "text/plain": (csv, "text/plain", 415), "not a number": (csv.replace("23.0", "abc", 1), "text/csv", 400),
        "empty": ("", "text/csv", 400), "missing column": (FRAME.drop(columns="Neck").to_csv(), "text/csv", 400),
        "invalid UTF-8": (b"\xff\xfe", "text/csv", 400),
    }  # fmt: skip
    for name, (body, content_type, status) in cases.items():
        ours = httpx.post(f"{api.url}/invocations", content=body, headers={"Content-Type": content_type})
        theirs = mlflow_server.post("/invocations", content=body, headers={"Content-Type": content_type})
        assert (ours.status_code, theirs.status_code) == (status, status), name
        assert ours.json()["error_code"] == "BAD_REQUEST", name
    missing = httpx.post(f"{api.url}/invocations", content=FRAME.drop(columns="Neck").to_csv(index=False),
                         headers={"Content-Type": "text/csv"})  # fmt: skip
    assert missing.json()["fields"] == ["Neck"]


def test_a_csv_over_the_row_cap_is_refused_without_parsing_it_whole(api: ServingProcess) -> None:
    # Garbage after the cap: parsed whole, the body would be a 400 (not a number); counted while parsing, a 413.
    rows = FRAME.to_csv(index=False).splitlines()
    body = "\n".join([rows[0], *[rows[1]] * (MAX_ROWS + 1), "not,a,number"]) + "\n"
    response = httpx.post(f"{api.url}/invocations", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "batch_too_large"


def test_every_documented_difference_is_what_both_servers_answer(
    api: ServingProcess, mlflow_server: TestClient
) -> None:
    documented = documented_differences()
    assert set(documented) == set(REQUESTS), "every table row has a request here, and only those"
    for name, (mlflow_status, our_status) in documented.items():
        body, headers = REQUESTS[name]
        theirs = mlflow_server.post("/invocations", content=body, headers=headers).status_code
        ours = httpx.post(f"{api.url}/invocations", content=body, headers=headers).status_code
        assert (theirs, ours) == (mlflow_status, our_status), name
        assert theirs != ours, f"{name}: no longer a difference, drop the row"


def test_openapi_describes_the_four_mlflow_bodies_and_csv(api: ServingProcess) -> None:
    body = httpx.get(f"{api.url}/openapi.json").json()["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert [variant["title"] for variant in body["application/json"]["schema"]["oneOf"]] == [
        "dataframe_split", "dataframe_records", "instances", "inputs"]  # fmt: skip
    assert re.match(r"Age,Weight,", body["text/csv"]["example"])
