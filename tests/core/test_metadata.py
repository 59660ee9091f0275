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
