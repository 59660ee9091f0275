"""Every endpoint and every error path through FastAPI's TestClient, with an in-memory registry."""

from __future__ import annotations

import json
import math

import pytest
from bodyfat_contract import FEATURES, model_features

from bodyfat_assets.testing.serving_fakes import FakeSource
from serving.fallback.build_fallback import CARD_FILE
from serving.schemas import EXAMPLE_RECORD

RECORD = dict(EXAMPLE_RECORD)
# pytest resets warning filters per test; the app installs this one at import time for production.
pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")


def post_raw(client, path: str, text: str, **headers: str):
    # httpx refuses to encode NaN/Infinity, but Python's json (and so the server) accepts them: send raw text.
    return client.post(path, content=text.encode(), headers={"content-type": "application/json", **headers})


def test_health(make_client, fake_source) -> None:
    assert make_client(source=fake_source).get("/health").json() == {"status": "ok"}


def test_ready_reports_registry_version(make_client, fake_source) -> None:
    body = make_client(source=fake_source).get("/ready").json()
    assert body["status"] == "ready"
    assert (body["source"], body["version"]) == ("registry", "1")


def test_ready_reports_fallback_without_champion(make_client) -> None:
    # A fallback by design: the registry answered and has no champion yet (a fresh install).
    response = make_client(source=FakeSource(champion=None)).get("/ready")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["reason"]) == ("ready", "no_champion")
    assert (response.json()["source"], response.json()["version"]) == ("fallback", "fallback")
    assert response.json()["last_check"]["outcome"] == "no_champion"


def test_ready_is_503_degraded_when_registry_down(make_client, fake_source) -> None:
    # A fallback caused by an error: still predicting, but a load balancer must see the difference.
    fake_source.down = True
    client = make_client(source=fake_source)
    response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["reason"], body["source"]) == ("degraded", "registry_error", "fallback")
    assert body["last_check"]["outcome"] == "error"
    assert client.post("/predict", json=RECORD).status_code == 200


def test_ready_is_503_degraded_when_champion_artifact_missing(make_client) -> None:
    # The restarted-stack case: the alias survives in the registry's database, the artifact does not (a 404).
    class MissingArtifact(FakeSource):
        def load(self, version: str):
            raise FileNotFoundError(f"models:/bodyfat/{version}: 404")

    response = make_client(source=MissingArtifact(champion="3")).get("/ready")
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["reason"]) == ("degraded", "registry_error")


def test_ready_is_503_degraded_when_registry_client_cannot_be_built(make_client, monkeypatch) -> None:
    import serving.app

    def broken(*_args, **_kwargs):
        raise ValueError("bad tracking URI")

    monkeypatch.setattr(serving.app, "MlflowSource", broken)
    response = make_client().get("/ready")
    assert response.status_code == 503
    assert (response.json()["status"], response.json()["reason"]) == ("degraded", "registry_error")


def test_ready_stays_ready_when_champion_served_and_a_poll_fails(make_client, fake_source) -> None:
    # The registry champion is loaded: a failed poll leaves it serving, so the API is ready; last_check says so.
    client = make_client(source=fake_source, admin_token="adm1n")
    fake_source.down = True
    assert client.post("/admin/reload", headers={"X-Admin-Token": "adm1n"}).json()["outcome"] == "error"
    body = client.get("/ready").json()
    assert (body["status"], body["source"], body["reason"]) == ("ready", "registry", "champion")


def test_ready_is_503_without_any_model(make_client) -> None:
    def broken_fallback():
        raise FileNotFoundError("no fallback")

    client = make_client(source=FakeSource(champion=None), fallback=broken_fallback)
    assert client.get("/ready").status_code == 503
    assert client.post("/predict", json=RECORD).status_code == 503
    assert client.get("/model").status_code == 503


def test_model_describes_features_and_metrics(make_client, fake_source) -> None:
    body = make_client(source=fake_source).get("/model").json()
    assert (body["name"], body["version"], body["alias"], body["run_id"]) == ("bodyfat", "1", "champion", "run1")
    assert body["metrics"] == {"test_rmse": 4.0, "test_mae": 3.0, "test_r2": 0.7}
    assert [f["name"] for f in body["features"]] == model_features()
    height = next(f for f in body["features"] if f["name"] == "Height")
    assert (height["unit"], height["low"], height["high"]) == ("in", 48, 96)
    assert body["trained_at"] == "2026-01-01T00:00:00+00:00"


def test_predict_returns_value_interval_and_version(make_client, fake_source) -> None:
    body = make_client(source=fake_source).post("/predict", json=RECORD).json()
    assert body["model_version"] == "1" and body["model_source"] == "registry"
    assert 2 < body["body_fat_pct"] < 40
    assert body["interval_low"] == pytest.approx(body["body_fat_pct"] - 5.0)
    assert body["interval_high"] == pytest.approx(body["body_fat_pct"] + 5.0)


def test_predict_matches_the_estimator_on_a_dataframe(make_client, fake_source) -> None:
    """The numpy fast path must put features in the model's order: compare with sklearn on a named DataFrame."""
    import pandas as pd

    from serving.model_store import load_fallback
    from serving.settings import FALLBACK_DIR

    reordered = dict(reversed(list(RECORD.items())))
    got = make_client(source=FakeSource(champion=None)).post("/predict", json=reordered).json()["body_fat_pct"]
    expected = load_fallback(FALLBACK_DIR).estimator.predict(pd.DataFrame([RECORD])[model_features()])[0]
    assert got == pytest.approx(expected)


BAD_VALUES = {
    "string": ('"abc"', "float_type"),
    "numeric string": ('"23"', "float_type"),
    "boolean": ("true", "float_type"),
    "null": ("null", "float_type"),
    "NaN": ("NaN", "finite_number"),
    "Infinity": ("Infinity", "finite_number"),
    "-Infinity": ("-Infinity", "finite_number"),
    "too low": ("0", "greater_than_equal"),
    "too high": ("1e9", "less_than_equal"),
}


@pytest.mark.parametrize("kind", BAD_VALUES)
@pytest.mark.parametrize("feature", [FEATURES[0].name, FEATURES[-1].name])
def test_predict_bad_value_is_422_naming_the_field(make_client, fake_source, kind: str, feature: str) -> None:
    literal, error_type = BAD_VALUES[kind]
    text = json.dumps(RECORD).replace(f'"{feature}": {json.dumps(RECORD[feature])}', f'"{feature}": {literal}')
    response = post_raw(make_client(source=fake_source), "/predict", text)
    assert response.status_code == 422
    body = response.json()
    assert body["fields"] == [feature]
    assert body["detail"][0]["type"] == error_type


def test_predict_missing_field_is_422_naming_it(make_client, fake_source) -> None:
    record = {k: v for k, v in RECORD.items() if k != "Wrist"}
    body = make_client(source=fake_source).post("/predict", json=record).json()
    assert body["fields"] == ["Wrist"] and body["detail"][0]["type"] == "missing"


def test_predict_extra_field_is_422_naming_it(make_client, fake_source) -> None:
    for extra in ("Density", "shoe_size"):
        response = make_client(source=fake_source).post("/predict", json={**RECORD, extra: 1.05})
        assert response.status_code == 422
        assert response.json()["fields"] == [extra]


@pytest.mark.parametrize("text", ["{bad json", "[]", "42", '"x"', "", "[{bad", "[1,", "null", '{"columns": 3}'])
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_malformed_body_is_422(make_client, fake_source, text: str, path: str) -> None:
    if path == "/predict/batch" and text == "[]":
        return  # an empty list is a valid (empty) batch
    response = post_raw(make_client(source=fake_source), path, text)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_batch_of_records(make_client, fake_source) -> None:
    rows = [RECORD, {**RECORD, "Abdomen": 120.0}]
    body = make_client(source=fake_source).post("/predict/batch", json=rows).json()
    assert body["n"] == 2 and body["model_version"] == "1"
    assert body["body_fat_pct"][1] > body["body_fat_pct"][0]  # a bigger abdomen means more fat in any sane model
    assert body["interval_high"][0] - body["interval_low"][0] == pytest.approx(10.0)


def test_batch_columnar_equals_records(make_client, fake_source) -> None:
    client = make_client(source=fake_source)
    rows = [RECORD, {**RECORD, "Abdomen": 120.0}, {**RECORD, "Age": 70.0}]
    columns = {name: [row[name] for row in rows] for name in model_features()}
    by_records = client.post("/predict/batch", json=rows).json()["body_fat_pct"]
    by_columns = client.post("/predict/batch", json={"columns": columns}).json()["body_fat_pct"]
    assert by_columns == pytest.approx(by_records)
    single = client.post("/predict", json=rows[2]).json()["body_fat_pct"]
    assert by_records[2] == pytest.approx(single)


def test_batch_bad_value_names_field_and_row(make_client, fake_source) -> None:
    text = json.dumps([RECORD, RECORD]).replace('"Neck": 36.2', '"Neck": NaN', 2)
    body = post_raw(make_client(source=fake_source), "/predict/batch", text).json()
    assert body["fields"] == ["Neck"]
    assert body["detail"][0]["loc"] == ["body", "records", 0, "Neck"]


def test_batch_columnar_bad_value_and_ragged_columns(make_client, fake_source) -> None:
    client = make_client(source=fake_source)
    columns = {name: [value, value] for name, value in RECORD.items()}
    bad = client.post("/predict/batch", json={"columns": {**columns, "Knee": [37.3, "x"]}})
    assert bad.status_code == 422 and bad.json()["fields"] == ["Knee"]
    ragged = client.post("/predict/batch", json={"columns": {**columns, "Ankle": [21.9]}})
    assert ragged.status_code == 422 and "same length" in ragged.json()["detail"][0]["msg"]
    missing = client.post("/predict/batch", json={"columns": {k: v for k, v in columns.items() if k != "Hip"}})
    assert missing.status_code == 422 and missing.json()["fields"] == ["Hip"]
    extra = client.post("/predict/batch", json={"columns": columns, "rows": 2})
    assert extra.status_code == 422 and extra.json()["fields"] == ["rows"]


def test_batch_empty_list_predicts_nothing(make_client, fake_source) -> None:
    assert make_client(source=fake_source).post("/predict/batch", json=[]).json()["n"] == 0


def test_oversized_batch_is_413(make_client, fake_source) -> None:
    client = make_client(source=fake_source, max_batch_rows=3)
    assert client.post("/predict/batch", json=[RECORD] * 3).status_code == 200
    assert client.post("/predict/batch", json=[RECORD] * 4).status_code == 413
    columns = {name: [value] * 4 for name, value in RECORD.items()}
    assert client.post("/predict/batch", json={"columns": columns}).status_code == 413
    # Even with invalid values: size is judged before content, so the cheap answer wins.
    assert client.post("/predict/batch", json=[{"Age": "x"}] * 4).status_code == 413


def test_oversized_body_is_413_before_parsing(make_client, fake_source) -> None:
    client = make_client(source=fake_source, max_batch_rows=1)
    response = post_raw(client, "/predict/batch", "[" + " " * 200_000 + "]")
    assert response.status_code == 413


def test_api_key_required_when_configured(make_client, fake_source) -> None:
    client = make_client(source=fake_source, api_key="s3cret")
    assert client.post("/predict", json=RECORD).status_code == 401
    assert client.post("/predict", json=RECORD, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.post("/predict", json=RECORD, headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.post("/predict/batch", json=[RECORD]).status_code == 401
    assert client.post("/predict/batch", json=[RECORD], headers={"X-API-Key": "s3cret"}).status_code == 200
    # Operational endpoints stay open for probes and scrapers.
    assert client.get("/ready").status_code == 200 and client.get("/metrics").status_code == 200


def test_api_key_not_required_by_default(make_client, fake_source) -> None:
    assert make_client(source=fake_source).post("/predict", json=RECORD).status_code == 200


def test_blank_secrets_mean_disabled(monkeypatch, make_client, fake_source) -> None:
    monkeypatch.setenv("BODYFAT_SERVING_API_KEY", "")
    monkeypatch.setenv("BODYFAT_SERVING_ADMIN_TOKEN", " ")
    client = make_client(source=fake_source)
    assert client.post("/predict", json=RECORD).status_code == 200
    assert client.post("/admin/reload", headers={"X-Admin-Token": " "}).status_code == 404


def test_openapi_names_the_header_each_secured_route_checks(make_client, fake_source) -> None:
    # What Swagger UI's Authorize and generated clients do: send, for each route, the header its security names.
    secrets = {"X-API-Key": "k3y", "X-Admin-Token": "adm1n"}
    client = make_client(source=fake_source, api_key=secrets["X-API-Key"], admin_token=secrets["X-Admin-Token"])
    spec = client.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    named: dict[str, set[str]] = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for requirement in operation.get("security", []):
                headers = {schemes[name]["name"]: secrets[schemes[name]["name"]] for name in requirement}
                named[path] = set(headers)
                assert client.request(method, path, json=RECORD).status_code == 401, (method, path)
                assert client.request(method, path, json=RECORD, headers=headers).status_code != 401, (method, path)
    assert named == {"/predict": {"X-API-Key"}, "/predict/batch": {"X-API-Key"}, "/invocations": {"X-API-Key"},
                     "/v2/models/{model_name}/infer": {"X-API-Key"},
                     "/v2/models/{model_name}/versions/{version}/infer": {"X-API-Key"},
                     "/admin/reload": {"X-Admin-Token"}}  # fmt: skip


def test_admin_reload_is_404_without_a_configured_token(make_client, fake_source) -> None:
    client = make_client(source=fake_source)
    assert client.post("/admin/reload", headers={"X-Admin-Token": "anything"}).status_code == 404
    assert "/admin/reload" not in client.get("/openapi.json").json()["paths"]


def test_admin_reload_needs_the_token_and_swaps(make_client, fake_source) -> None:
    client = make_client(source=fake_source, admin_token="adm1n")
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"X-Admin-Token": "nope"}).status_code == 401
    fake_source.champion = "2"
    body = client.post("/admin/reload", headers={"X-Admin-Token": "adm1n"}).json()
    assert (body["outcome"], body["version"], body["source"]) == ("swapped", "2", "registry")
    assert client.post("/predict", json=RECORD).json()["model_version"] == "2"
    again = client.post("/admin/reload", headers={"X-Admin-Token": "adm1n"}).json()
    assert again["outcome"] == "unchanged"


def test_admin_reload_leaves_fallback_for_a_new_champion(make_client) -> None:
    source = FakeSource({"7": __import__("tests.serving.conftest", fromlist=["x"]).registry_model("7")}, champion=None)
    client = make_client(source=source, admin_token="adm1n")
    assert client.get("/ready").json()["source"] == "fallback"
    source.champion = "7"
    client.post("/admin/reload", headers={"X-Admin-Token": "adm1n"})
    assert (client.get("/ready").json()["source"], client.get("/ready").json()["version"]) == ("registry", "7")


def _metric(text: str, prefix: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, f"no metric line starts with {prefix}"
    return float(lines[0].rsplit(" ", 1)[1])


def test_metrics_count_requests_by_endpoint_and_status(make_client, fake_source) -> None:
    client = make_client(source=fake_source)
    client.post("/predict", json=RECORD)
    client.post("/predict", json=RECORD)
    client.post("/predict", json={})
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert _metric(text, 'bodyfat_http_requests_total{endpoint="/predict",method="POST",status="200"}') == 2
    assert _metric(text, 'bodyfat_http_requests_total{endpoint="/predict",method="POST",status="422"}') == 1
    assert _metric(text, 'bodyfat_http_requests_total{endpoint="other",method="GET",status="404"}') == 1
    assert _metric(text, 'bodyfat_http_request_duration_seconds_count{endpoint="/predict"}') == 3
    assert _metric(text, "bodyfat_model_version ") == 1
    assert 'bodyfat_model_info{name="bodyfat",source="registry",version="1"} 1.0' in text


def test_metrics_show_fallback_as_version_zero(make_client) -> None:
    text = make_client(source=FakeSource(champion=None)).get("/metrics").text
    assert _metric(text, "bodyfat_model_version ") == 0


def test_openapi_documents_examples_and_bounds(make_client, fake_source) -> None:
    spec = make_client(source=fake_source).get("/openapi.json").json()
    record = spec["components"]["schemas"]["Record"]
    assert record["properties"]["Height"]["minimum"] == 48 and record["properties"]["Height"]["maximum"] == 96
    assert record["additionalProperties"] is False
    assert spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    batch_body = spec["paths"]["/predict/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert set(batch_body["examples"]) == {"records", "columns"}
    assert {"ColumnarBatch", "Columns", "Record"} <= set(spec["components"]["schemas"])
    assert make_client(source=fake_source).get("/docs").status_code == 200


def test_settings_read_the_environment(monkeypatch) -> None:
    from serving.settings import ServingSettings

    monkeypatch.setenv("BODYFAT_MODEL_NAME", "other")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("BODYFAT_SERVING_MAX_BATCH_ROWS", "5")
    monkeypatch.setenv("BODYFAT_SERVING_API_KEY", "k")
    settings = ServingSettings()
    assert (settings.model_name, settings.tracking_uri, settings.max_batch_rows) == ("other", "http://mlflow:5000", 5)
    assert settings.api_key.get_secret_value() == "k"
    assert not math.isnan(settings.poll_interval_s)


def test_single_predictions_never_use_the_threadpool(make_client, fake_source, monkeypatch) -> None:
    """FastAPI runs sync dependencies in the threadpool on every request: a sync getter once cost ~1.5 ms of CPU per
    predict request, and the sync key check halved throughput. With an API key configured, a
    single-row predict must not hop to a thread at all."""
    import anyio.to_thread

    client = make_client(source=fake_source, api_key="k")
    hops: list[object] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *args, **kwargs):
        hops.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    for _ in range(3):
        assert client.post("/predict", json=RECORD, headers={"X-API-Key": "k"}).status_code == 200
    assert client.get("/model").status_code == 200
    assert hops == []


def test_a_single_prediction_solves_one_dependency_and_is_routed_first(make_client, fake_source, monkeypatch) -> None:
    """FastAPI solves each dependency on every request and tries routes in order: /predict's model, batcher,
    settings, metrics and prediction log taken one by one were 7 solves (80 µs of a Ridge request's ~510 µs CPU), and
    the ops and page routes tried before it 27 µs more. Now one dependency, and the prediction routes come first."""
    import fastapi.dependencies.utils
    import fastapi.routing

    from serving.app import route_paths

    client = make_client(source=fake_source)
    solved: list[object] = []
    real = fastapi.dependencies.utils.solve_dependencies

    async def counting(*args, **kwargs):
        solved.append(kwargs.get("dependant"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    monkeypatch.setattr(fastapi.dependencies.utils, "solve_dependencies", counting)
    assert client.post("/predict", json=RECORD).status_code == 200
    assert len(solved) == 2  # the endpoint's own parameters, and the one dependency
    included = [route.original_router for route in client.app.routes if hasattr(route, "original_router")]
    assert "/predict" in route_paths(included[0].routes)


def test_metrics_bin_inputs_and_predictions_with_the_models_training_data(make_client) -> None:
    """The fallback's card carries its training profile; served inputs and predictions are binned with it,
    and a value inside the contract but beyond the training range is counted for its feature."""
    client = make_client(source=FakeSource(champion=None))
    card = json.loads(CARD_FILE.read_text())
    ankle_max = card["training_profile"]["Ankle"][-1]
    client.post("/predict", json=RECORD)
    client.post("/predict", json={**RECORD, "Ankle": ankle_max + 1})
    client.post("/predict/batch", json={"columns": {k: [v] * 3 for k, v in RECORD.items()}})
    text = client.get("/metrics").text
    version = 'model_version="fallback:fallback"'
    assert _metric(text, f'bodyfat_input_value_count{{feature="Ankle",{version}}}') == 5
    assert _metric(text, f'bodyfat_prediction_pct_count{{{version}}}') == 5
    assert _metric(text, f'bodyfat_inputs_outside_training_range_total{{feature="Ankle",{version}}}') == 1
    assert _metric(text, f'bodyfat_inputs_outside_training_range_total{{feature="Neck",{version}}}') == 0
    edges = card["training_profile"]["Ankle"]
    assert f'bodyfat_input_value_bucket{{feature="Ankle",le="{edges[-1]:g}",{version}}} 4.0' in text


def test_every_route_is_its_own_metrics_endpoint(make_client, fake_source) -> None:
    client = make_client(source=fake_source, admin_token="adm1n")
    documented = set(client.get("/openapi.json").json()["paths"])
    for path in ("/version", "/openapi.json", "/docs", "/"):
        client.get(path)
    text = client.get("/metrics").text
    for path in ("/version", "/openapi.json", "/docs", "/"):
        assert _metric(text, f'bodyfat_http_requests_total{{endpoint="{path}",method="GET",status="200"}}') >= 1
    assert documented <= set(client.app.user_middleware[0].kwargs["endpoints"]), "a route counted as other"
