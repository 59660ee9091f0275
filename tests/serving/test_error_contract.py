"""Every error is JSON with a stable `code`, names the field where there is one, truncates
echoed input, and is listed in the OpenAPI responses."""

from __future__ import annotations

import gzip
import json

import pytest

from serving.schemas import EXAMPLE_RECORD

RECORD = dict(EXAMPLE_RECORD)


def post(client, path: str, content: bytes, **headers: str):
    return client.post(path, content=content, headers={"content-type": "application/json", **headers})


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_invalid_utf8_is_a_coded_422(make_client, fake_source, path: str) -> None:
    body = json.dumps(RECORD if path == "/predict" else [RECORD]).encode().replace(b"23", b"\xff\xfe", 1)
    response = post(make_client(source=fake_source), path, body)
    assert response.status_code == 422 and response.json()["code"] == "invalid_json"


def test_gzip_bodies_are_a_coded_415(make_client, fake_source) -> None:
    response = post(make_client(source=fake_source), "/predict", gzip.compress(json.dumps(RECORD).encode()),
                    **{"content-encoding": "gzip"})  # fmt: skip
    assert response.status_code == 415 and response.json()["code"] == "unsupported_encoding"


def test_a_very_long_integer_names_its_field(make_client, fake_source) -> None:
    text = json.dumps(RECORD).replace('"Age": 23', '"Age": ' + "9" * 5000)
    response = post(make_client(source=fake_source), "/predict", text.encode())
    assert response.status_code == 422 and response.json()["fields"] == ["Age"]


def test_unequal_columns_name_the_short_column(make_client, fake_source) -> None:
    columns = {name: [value, value] for name, value in RECORD.items()}
    response = make_client(source=fake_source).post("/predict/batch", json={"columns": {**columns, "Ankle": [21.9]}})
    assert response.status_code == 422
    assert response.json()["fields"] == ["Ankle"] and "same length" in response.json()["detail"][0]["msg"]


def test_a_huge_unknown_key_is_not_echoed(make_client, fake_source) -> None:
    key = "k" * 1_000_000
    response = post(make_client(source=fake_source), "/predict/batch",
                    json.dumps({"columns": {name: [v] for name, v in RECORD.items()}, key: 1}).encode())  # fmt: skip
    assert response.status_code == 422 and len(response.content) < 2_000
    assert response.json()["fields"][0].startswith("kkk")


def test_every_error_carries_a_code(make_client, fake_source) -> None:
    client = make_client(source=fake_source, api_key="k3y", max_batch_rows=2)
    key = {"X-API-Key": "k3y"}
    answers = {
        401: client.post("/predict", json=RECORD),
        404: client.get("/nowhere"),
        405: client.get("/predict", headers=key),
        413: client.post("/predict/batch", json=[RECORD] * 3, headers=key),
        422: client.post("/predict", json={**RECORD, "Age": "x"}, headers=key),
    }
    for status, response in answers.items():
        assert response.status_code == status
        assert isinstance(response.json()["code"], str) and response.json()["code"], response.text


def test_openapi_lists_the_error_responses(make_client, fake_source) -> None:
    spec = make_client(source=fake_source, api_key="k3y").get("/openapi.json").json()
    for path in ("/predict", "/predict/batch"):
        assert {"401", "408", "413", "415", "422", "503"} <= set(spec["paths"][path]["post"]["responses"]), path
    assert spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "Record" in spec["components"]["schemas"]


@pytest.mark.parametrize(
    ("row", "field"),
    [({**RECORD, "Neck": True}, "Neck"), ({**RECORD, "Density": 1.05}, "Density"),
     ({k: v for k, v in RECORD.items() if k != "Hip"}, "Hip"), ({**RECORD, "Age": 1e9}, "Age")],
)  # fmt: skip
def test_records_fast_path_keeps_row_and_field_in_errors(make_client, fake_source, row, field) -> None:
    """Records are validated as columns when they are well-formed; a bad one must still be named by row."""
    response = make_client(source=fake_source).post("/predict/batch", json=[RECORD, RECORD, row])
    assert response.status_code == 422 and response.json()["fields"] == [field]
    assert response.json()["detail"][0]["loc"][:3] == ["body", "records", 2]


def test_mlflow_probes_stay_open_when_scoring_needs_a_key(make_client, fake_source) -> None:
    client = make_client(source=fake_source, api_key="k3y")
    assert client.get("/ping").status_code == 200 and client.get("/version").status_code == 200
    body = {"dataframe_records": [RECORD]}
    assert client.post("/invocations", json=body).status_code == 401
    assert client.post("/invocations", json=body, headers={"X-API-Key": "k3y"}).json()["predictions"]
