"""An impossible person (40 kg, 200 cm, abdomen 150 cm: every field inside its own range) is answered with a warning
on every prediction route and counted in /metrics; a man like those the model learned from is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bodyfat_contract import FEATURE_NAMES, population_distance, training_population

from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.population import OUTSIDE_POPULATION, population_from_card
from serving.schemas import EXAMPLE_RECORD

IMPOSSIBLE = {**EXAMPLE_RECORD, "Weight": 40 / 0.45359237, "Height": 200 / 2.54, "Abdomen": 150.0}


def test_every_training_row_is_inside_and_the_impossible_person_is_far_outside(seed_frame: pd.DataFrame) -> None:
    rows = seed_frame[(seed_frame["Height"] > 60) & (seed_frame["Ankle"] < 31)]  # without the two typo rows
    population = training_population({name: rows[name].tolist() for name in FEATURE_NAMES})
    distances = [population_distance(population, row) for row in rows[list(FEATURE_NAMES)].to_dict("records")]
    assert max(distances) == population["threshold"]
    assert population_distance(population, IMPOSSIBLE) > 2 * population["threshold"]
    assert population_distance(population, EXAMPLE_RECORD) < population["threshold"] / 2


def test_serving_computes_the_contracts_distance(seed_frame: pd.DataFrame) -> None:
    population = training_population({name: seed_frame[name].tolist() for name in FEATURE_NAMES})
    served_order = list(reversed(FEATURE_NAMES))  # a model's own column order, not the contract's
    vectorised = population_from_card({"training_population": population}, served_order)
    probe = pd.concat([seed_frame.sample(40, random_state=1), pd.DataFrame([IMPOSSIBLE])])[served_order]
    expected = [population_distance(population, row) for row in probe.to_dict("records")]
    assert np.allclose(vectorised.distances(probe.to_numpy(dtype=float)), expected, rtol=1e-9)


def test_every_prediction_route_warns_and_metrics_count_it(make_client) -> None:
    client = make_client(source=FakeSource({"1": registry_model("1")}, champion="1"))
    usual = client.post("/predict", json=EXAMPLE_RECORD).json()
    assert usual["warnings"] == []
    single = client.post("/predict", json=IMPOSSIBLE).json()
    [warning] = single["warnings"]
    assert warning["code"] == OUTSIDE_POPULATION and warning["distance"] > warning["threshold"]
    assert "unlike any man the model was trained on" in warning["message"]

    batch = client.post("/predict/batch", json=[EXAMPLE_RECORD, IMPOSSIBLE, EXAMPLE_RECORD]).json()
    assert [(w["row"], w["code"]) for w in batch["warnings"]] == [(1, OUTSIDE_POPULATION)]
    columns = {"columns": {name: [IMPOSSIBLE[name], EXAMPLE_RECORD[name]] for name in FEATURE_NAMES}}
    assert [w["row"] for w in client.post("/predict/batch", json=columns).json()["warnings"]] == [0]

    split = {"dataframe_split": {"columns": list(FEATURE_NAMES),
                                 "data": [[r[n] for n in FEATURE_NAMES] for r in (EXAMPLE_RECORD, IMPOSSIBLE)]}}
    assert [w["row"] for w in client.post("/invocations", json=split).json()["warnings"]] == [1]

    inputs = [{"name": n, "datatype": "FP64", "shape": [2], "data": [IMPOSSIBLE[n], EXAMPLE_RECORD[n]]}
              for n in FEATURE_NAMES]
    v2 = client.post("/v2/models/bodyfat/infer", json={"inputs": inputs}).json()
    assert [w["row"] for w in v2["parameters"]["warnings"]] == [0]

    counted = [line for line in client.get("/metrics").text.splitlines()
               if line.startswith(f'bodyfat_prediction_warnings_total{{code="{OUTSIDE_POPULATION}"}}')]
    assert counted and float(counted[0].split()[-1]) == 5.0


def test_a_model_without_a_population_serves_without_warnings(make_client) -> None:
    model = registry_model("1")
    client = make_client(source=FakeSource({"1": model.__class__(**{**model.__dict__, "population": None})},
                                           champion="1"))
    assert client.post("/predict", json=IMPOSSIBLE).json()["warnings"] == []
