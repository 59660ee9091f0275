"""Streamed scoring: a file larger than one read batch, with bad rows scattered through it, scored batch
by batch into a Parquet file whose rows match the input one for one."""

import io

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from bodyfat_contract import FEATURE_NAMES

from bodyfat_assets.core.contract_checks import out_of_range
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.core.scoring import score
from bodyfat_assets.core.scoring.stream import score_file
from bodyfat_assets.testing.landing_files import csv_bytes, parquet_bytes

CARD = {"features": list(FEATURE_NAMES), "interval_half_width_90": 2.0}
BATCH = 500


class AbdomenModel:
    """Predicts Abdomen / 10 and remembers the largest batch it was given."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.largest, self.calls, self.fail_after = 0, 0, fail_after

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("model failed mid-file")
        self.largest = max(self.largest, len(features))
        return features["Abdomen"].to_numpy() / 10


def scoring_frame(seed_frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """`rows` plausible rows (seed rows within the contract, jittered) with an id column."""
    base = seed_frame.loc[out_of_range(seed_frame, FEATURE_NAMES) == "", list(FEATURE_NAMES)]
    frame = base.sample(rows, replace=True, random_state=0).reset_index(drop=True)
    frame = (frame * np.random.default_rng(1).uniform(0.995, 1.005, frame.shape)).round(2)
    frame.insert(0, "id", [f"p{i}" for i in range(rows)])
    return frame


BAD_ROWS = {  # 1-based row id → (column, value, expected reason)
    7: ("Height", 29.5, "Height 29.5 in outside [48, 96]"),
    777: ("Weight", None, "Weight missing or non-numeric"),
    1_501: ("Ankle", "about 22", "Ankle missing or non-numeric"),
    2_999: ("Abdomen", 400.0, "Abdomen 400 cm outside"),
    3_000: ("Neck", "n/a cm", "Neck missing or non-numeric"),
}


@pytest.fixture
def with_bad_rows(seed_frame) -> pd.DataFrame:
    frame = scoring_frame(seed_frame, 3_200).astype(object)
    for row_id, (column, value, _) in BAD_ROWS.items():
        frame.loc[row_id - 1, column] = value
    return frame


def streamed(tmp_path, name: str, data: bytes, model=None, batch_rows: int = BATCH):
    source = tmp_path / name
    source.write_bytes(data)
    output = tmp_path / f"{name}.predictions.parquet"
    with open(source, "rb") as file:
        summary = score_file(file, name, "batch-1", model or AbdomenModel(), CARD, "3", output, batch_rows)
    return summary, pq.read_table(output).to_pandas(), pq.ParquetFile(output).metadata.num_row_groups


def test_every_good_row_is_scored_and_every_bad_row_reported_with_its_row_id_and_reason(tmp_path, with_bad_rows):
    model = AbdomenModel()
    summary, out, row_groups = streamed(tmp_path, "big.csv", csv_bytes(with_bad_rows), model)
    assert len(out) == len(with_bad_rows) == summary.rows, "one output row per input row"
    assert list(out["row_id"]) == list(range(1, len(with_bad_rows) + 1))
    assert list(out["id"]) == list(with_bad_rows["id"])
    assert row_groups >= len(with_bad_rows) // BATCH and model.largest <= BATCH, "scored batch by batch"
    unscored = out[out["issue"].notna()]
    assert set(unscored["row_id"]) == set(BAD_ROWS) and summary.unscored_rows == len(BAD_ROWS)
    for row_id, (_, _, reason) in BAD_ROWS.items():
        row = out.loc[out["row_id"] == row_id].iloc[0]
        assert reason in row["issue"] and np.isnan(row["prediction"])
    good = out[out["issue"].isna()]
    expected = pd.to_numeric(with_bad_rows.loc[good.index, "Abdomen"]).to_numpy() / 10
    np.testing.assert_allclose(good["prediction"], expected)
    assert (good["upper_90"] - good["lower_90"]).round(9).eq(4.0).all() and set(out["model_version"]) == {"3"}
    assert list(summary.unscored["row_id"]) == sorted(BAD_ROWS)
    assert summary.mean_prediction == pytest.approx(expected.mean())


def test_reasons_are_those_of_the_whole_frame_score(tmp_path, with_bad_rows, seed_frame):
    """The streamed path gives the reasons the in-memory `score` gives: one contract check, not a second one."""
    _, out, _ = streamed(tmp_path, "big.csv", csv_bytes(with_bad_rows))
    whole = with_bad_rows.copy()
    for column in FEATURE_NAMES:
        whole[column] = pd.to_numeric(whole[column], errors="coerce")
    whole.insert(0, "row_id", range(1, len(whole) + 1))
    reference = score(AbdomenModel(), CARD, whole, "3")
    assert list(out["issue"]) == list(reference["issue"])
    np.testing.assert_allclose(out["prediction"], reference["prediction"])


def test_a_csv_and_a_parquet_file_of_the_same_rows_give_identical_predictions(tmp_path, seed_frame):
    frame = scoring_frame(seed_frame, 1_234)
    frame.loc[10, "Height"] = 12.0
    _, from_csv, _ = streamed(tmp_path, "same.csv", csv_bytes(frame))
    _, from_parquet, _ = streamed(tmp_path, "same.parquet", parquet_bytes(frame))
    pd.testing.assert_frame_equal(from_csv, from_parquet)
    assert from_csv["issue"].notna().sum() == 1


def test_a_failure_mid_file_leaves_no_partial_output(tmp_path, seed_frame):
    with pytest.raises(RuntimeError, match="mid-file"):
        streamed(tmp_path, "big.csv", csv_bytes(scoring_frame(seed_frame, 2_000)), AbdomenModel(fail_after=2))
    assert not (tmp_path / "big.csv.predictions.parquet").exists(), "only a complete file is ever published"


def test_a_wrong_header_is_rejected_before_any_row_is_scored(tmp_path, seed_frame):
    frame = scoring_frame(seed_frame, 600).rename(columns={"Abdomen": "Waist"})
    model = AbdomenModel()
    with pytest.raises(Reject, match="wrong_header"):
        streamed(tmp_path, "waist.csv", csv_bytes(frame), model)
    assert model.calls == 0


def test_header_names_are_matched_as_the_landing_contract_matches_them(tmp_path, seed_frame):
    frame = scoring_frame(seed_frame, 50).rename(columns={"Abdomen": " abdomen", "id": "ID"})
    _, out, _ = streamed(tmp_path, "case.csv", csv_bytes(frame))
    assert out["issue"].isna().all() and list(out["id"]) == [f"p{i}" for i in range(50)]


def test_a_ragged_row_rejects_the_file_with_its_reason_and_publishes_nothing(seed_frame, tmp_path):
    """A truncated last row beyond the sensor's sample of a large file: the run rejects the file (it moves to
    rejected/ with this reason) instead of failing on a parser error that left it in score/."""
    text = csv_bytes(scoring_frame(seed_frame, 3 * BATCH))
    ragged = text.rstrip()[:-25] + b"\n"
    output = tmp_path / "out.parquet"
    with pytest.raises(Reject, match="unreadable") as rejected:
        score_file(io.BytesIO(ragged), "ragged.csv", "k", AbdomenModel(), CARD, "1", output, BATCH)
    assert "Expected 14 columns" in rejected.value.detail
    assert not output.exists()
