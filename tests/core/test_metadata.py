"""Frames become typed Dagster tables: columns keep their types, missing values stay missing, long frames are cut."""

import numpy as np
import pandas as pd

from bodyfat_assets.metadata import table


def test_columns_keep_their_types_and_missing_values_stay_missing():
    frame = pd.DataFrame({"family": ["ridge", "svr"], "rmse": [4.5, np.nan], "trials": [3, 4], "best": [True, False]})
    value = table(frame)
    assert {c.name: c.type for c in value.schema.columns} == {"family": "string", "rmse": "float", "trials": "int",
                                                              "best": "bool"}
    assert [r.data for r in value.records] == [{"family": "ridge", "rmse": 4.5, "trials": 3, "best": True},
                                               {"family": "svr", "rmse": None, "trials": 4, "best": False}]


def test_an_empty_frame_still_names_its_columns_and_a_long_one_is_cut():
    assert [c.name for c in table(pd.DataFrame(columns=["a", "b"])).schema.columns] == ["a", "b"]
    assert table(pd.DataFrame({"x": range(120)}), max_rows=50).records[-1].data == {"x": 49}


def test_the_contract_becomes_the_column_schema_the_ui_shows():
    from bodyfat_contract import FEATURES_BY_NAME

    from bodyfat_assets.metadata import contract_column_schema

    schema = contract_column_schema(["source", "Ankle", "BodyFat"])
    by_name = {c.name: c for c in schema.columns}
    ankle = FEATURES_BY_NAME["Ankle"]
    assert [c.name for c in schema.columns] == ["source", "Ankle", "BodyFat"]
    assert by_name["Ankle"].type == "float" and ankle.unit in by_name["Ankle"].description
    assert by_name["Ankle"].constraints.other == [f"{ankle.low:g} ≤ Ankle ≤ {ankle.high:g}"]
    assert by_name["source"].constraints.other == []
