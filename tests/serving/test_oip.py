"""The Open Inference Protocol (KServe V2) through a real client of it, Triton's `tritonclient[http]`, against a real
uvicorn process: metadata, readiness, inference single and batch (binary and JSON tensors, named inputs and one
[n, 13] input), and the errors a client sees, each naming the input at fault. The parsing's edge cases are checked
on `serving.oip` directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from bodyfat_contract import FEATURE_NAMES
from tritonclient.utils import InferenceServerException

from serving.oip import V2Error, parse_infer
from serving.schemas import EXAMPLE_RECORD
from tests.support.serving_process import ServingProcess, serving_process

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
KEY = "v2-test-key"
MAX_ROWS = 50
ROW = np.array([EXAMPLE_RECORD[name] for name in FEATURE_NAMES], dtype=np.float64)
BATCH = np.vstack([ROW, ROW + 1.0, ROW - 1.0])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingProcess]:
    with serving_process(tmp_path_factory.mktemp("oip"), BODYFAT_SERVING_API_KEY=KEY,
                         BODYFAT_SERVING_MAX_BATCH_ROWS=str(MAX_ROWS)) as api:  # fmt: skip
        yield api


@pytest.fixture(scope="module")
def client(api: ServingProcess) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(url=api.url.removeprefix("http://"))
    yield client
    client.close()


def named_inputs(rows: np.ndarray, binary: bool = True, column_shape: bool = False) -> list[triton.InferInput]:
    inputs = []
    for j, name in enumerate(FEATURE_NAMES):
        column = rows[:, j : j + 1] if column_shape else rows[:, j]
        tensor = triton.InferInput(name, list(column.shape), "FP64")
        inputs.append(tensor.set_data_from_numpy(np.ascontiguousarray(column), binary_data=binary))
    return inputs


def matrix_input(rows: np.ndarray, binary: bool = True) -> list[triton.InferInput]:
    return [triton.InferInput("input__0", list(rows.shape), "FP64").set_data_from_numpy(rows, binary_data=binary)]


def ours(api: ServingProcess, rows: np.ndarray) -> dict:
    """The same rows through our own /predict/batch: the reference the V2 answers must equal."""
    body = {"columns": {name: rows[:, j].tolist() for j, name in enumerate(FEATURE_NAMES)}}
    return httpx.post(f"{api.url}/predict/batch", json=body, headers={"X-API-Key": KEY}, timeout=10).json()


def infer(client: triton.InferenceServerClient, inputs: list, **kwargs: object) -> triton.InferResult:
    return client.infer("bodyfat", inputs, headers={"X-API-Key": KEY}, **kwargs)


def test_metadata_and_readiness(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    # The test API runs on the fallback because its registry is unreachable: /ready says 503 degraded, and so
    # does the protocol's server readiness, while the model itself is loaded and answers.
    assert not client.is_server_ready()
    assert client.is_model_ready("bodyfat")
    assert client.is_model_ready("bodyfat", "fallback")
    assert not client.is_model_ready("bodyfat", "7")
    assert not client.is_model_ready("resnet50")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    meta = client.get_model_metadata("bodyfat")
    assert (meta["name"], meta["versions"], meta["platform"]) == ("bodyfat", ["fallback"], "sklearn")
    assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
        (name, "FP64", [-1]) for name in FEATURE_NAMES
    ]
    assert [o["name"] for o in meta["outputs"]] == ["prediction", "lower", "upper"]
    assert client.get_model_metadata("bodyfat", "fallback") == meta


def test_infer_single_row_binary_tensors(api: ServingProcess, client: triton.InferenceServerClient) -> None:
    result = infer(client, named_inputs(ROW[None, :]))  # tritonclient's defaults: binary in, binary out
    reference = ours(api, ROW[None, :])
    assert result.get_response()["model_version"] == "fallback"
    assert result.as_numpy("prediction").tolist() == pytest.approx(reference["body_fat_pct"])
    assert result.as_numpy("lower").tolist() == pytest.approx(reference["interval_low"])
    assert result.as_numpy("upper").tolist() == pytest.approx(reference["interval_high"])


@pytest.mark.parametrize("shape", ["named [n]", "named [n, 1]", "one [n, 13]"])
def test_infer_batch_json_tensors(api: ServingProcess, client: triton.InferenceServerClient, shape: str) -> None:
    inputs = matrix_input(BATCH, binary=False) if shape == "one [n, 13]" else named_inputs(
        BATCH, binary=False, column_shape=shape == "named [n, 1]")  # fmt: skip
    outputs = [triton.InferRequestedOutput(name, binary_data=False) for name in ("upper", "prediction")]
    result = infer(client, inputs, outputs=outputs, request_id="batch-1")
    response = result.get_response()
    assert response["id"] == "batch-1" and [o["name"] for o in response["outputs"]] == ["upper", "prediction"]
    reference = ours(api, BATCH)
    assert result.as_numpy("prediction").tolist() == pytest.approx(reference["body_fat_pct"])
    assert result.as_numpy("upper").tolist() == pytest.approx(reference["interval_high"])
    assert result.as_numpy("lower") is None


def refused(client: triton.InferenceServerClient, inputs: list, model: str = "bodyfat",
            key: str = KEY) -> InferenceServerException:  # fmt: skip
    with pytest.raises(InferenceServerException) as caught:
        client.infer(model, inputs, headers={"X-API-Key": key})
    return caught.value


def test_errors_name_the_input(client: triton.InferenceServerClient) -> None:
    missing = refused(client, named_inputs(BATCH)[:-1])
    assert missing.status() == "400" and "missing input Wrist" in missing.message()

    wrong_shape = refused(client, matrix_input(BATCH[:, :12]))
    assert wrong_shape.status() == "400" and "input 'input__0'" in wrong_shape.message()
    assert "[3, 12]" in wrong_shape.message()

    bad = BATCH.copy()
    bad[2, FEATURE_NAMES.index("Neck")] = 900.0
    out_of_range = refused(client, named_inputs(bad))
    assert out_of_range.status() == "400"
    assert out_of_range.message() == "input 'Neck' row 2: 900 is outside 25-65 cm"
    in_matrix = refused(client, matrix_input(bad))
    assert in_matrix.message() == "input 'input__0' column 3 (Neck) row 2: 900 is outside 25-65 cm"

    as_float32 = [triton.InferInput("Age", [1], "FP32").set_data_from_numpy(np.array([30.0], np.float32))]
    assert "input 'Age': datatype 'FP32' is not FP64" in refused(client, as_float32).message()

    unknown = refused(client, named_inputs(BATCH), model="resnet50")
    assert unknown.status() == "404" and "unknown model 'resnet50'" in unknown.message()

    no_key = refused(client, named_inputs(BATCH), key="wrong")
    assert no_key.status() == "401" and "X-API-Key" in no_key.message()

    too_many = refused(client, matrix_input(np.tile(ROW, (MAX_ROWS + 1, 1))))
    assert too_many.status() == "413" and f"limit of {MAX_ROWS}" in too_many.message()


def test_unknown_model_is_a_v2_404_body(api: ServingProcess) -> None:
    for path in ("/v2/models/other", "/v2/models/other/ready", "/v2/models/bodyfat/versions/9"):
        response = httpx.get(api.url + path, timeout=5)
        assert response.status_code == 404 and set(response.json()) == {"error"}


def parsed(body: bytes, header_length: str | None = None, max_rows: int = MAX_ROWS) -> np.ndarray:
    return parse_infer(body, header_length, max_rows).rows


def error_of(body: bytes, header_length: str | None = None) -> V2Error:
    with pytest.raises(V2Error) as caught:
        parsed(body, header_length)
    return caught.value


def test_parse_accepts_nested_data_and_refuses_bad_values() -> None:
    import json

    nested = {"inputs": [{"name": "x", "shape": [2, 13], "datatype": "FP64", "data": [ROW.tolist()] * 2}]}
    assert parsed(json.dumps(nested).encode()).tolist() == [ROW.tolist()] * 2
    for value, why in (("NaN", "is not finite"), ("true", "numbers"), ('"30"', "numbers")):
        body = json.dumps(nested).replace(str(ROW[0]), value, 1).encode()
        assert why in error_of(body).message
    assert error_of(b'{"inputs": []}').status == 400
    assert error_of(b"{}", header_length="99").status == 400
    assert error_of(json.dumps({**nested, "outputs": [{"name": "mean"}]}).encode()).message.startswith(
        "unknown output 'mean'"
    )
    # The row cap is checked on the declared shape, before any value is read.
    huge = {"inputs": [{"name": "x", "shape": [10**9, 13], "datatype": "FP64", "data": []}]}
    assert error_of(json.dumps(huge).encode()).status == 413


def test_binary_size_must_match_the_shape() -> None:
    header = b'{"inputs":[{"name":"x","shape":[1,13],"datatype":"FP64","parameters":{"binary_data_size":96}}]}'
    error = error_of(header + ROW.tobytes()[:96], str(len(header)))
    assert error.status == 400 and "input 'x'" in error.message
    assert parsed(header.replace(b"96", b"104") + ROW.tobytes(), str(len(header) + 1)).tolist() == [ROW.tolist()]


def test_the_documented_paths_are_served(api: ServingProcess) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "serving.md").read_text()
    spec = httpx.get(f"{api.url}/openapi.json", timeout=5).json()
    for path in (p for p in spec["paths"] if p.startswith("/v2")):
        assert f" {path.replace('{model_name}', 'bodyfat')}`" in page, path
