import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES

from bodyfat_assets.core.scoring import score
from bodyfat_assets.lake import LocalStore, frame_to_parquet, parquet_to_frame, store_from_url


class AddOne:
    def predict(self, X):
        return X["Abdomen"].to_numpy() / 10


def test_score_keeps_ids_and_flags_unscorable_rows(seed_frame):
    rows = seed_frame.head(3).copy()
    rows.insert(0, "row_id", [10, 11, 12])
    rows.loc[1, "Height"] = 29.5
    out = score(AddOne(), {"features": list(FEATURE_NAMES), "interval_half_width_90": 2.0}, rows, "7")
    assert list(out["row_id"]) == [10, 11, 12]
    assert out.loc[0, "prediction"] == pytest.approx(rows.loc[0, "Abdomen"] / 10)
    assert out.loc[0, "upper_90"] - out.loc[0, "lower_90"] == pytest.approx(4.0)
    assert np.isnan(out.loc[1, "prediction"]) and "Height" in out.loc[1, "issue"]
    assert set(out["model_version"]) == {"7"}


def test_local_store_round_trip_and_listing(tmp_path):
    store = store_from_url(str(tmp_path / "lake"))
    assert isinstance(store, LocalStore)
    df = pd.DataFrame({"a": [1.5, 2.5]})
    store.write_bytes("x/y.parquet", frame_to_parquet(df))
    assert store.exists("x/y.parquet") and not store.exists("x/z.parquet")
    assert store.list_keys("x") == ["x/y.parquet"]
    assert parquet_to_frame(store.read_bytes("x/y.parquet")).equals(df)


def test_unknown_scheme_is_refused():
    with pytest.raises(ValueError, match="unsupported lake URL"):
        store_from_url("gs://bucket/lake")
