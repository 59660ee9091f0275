"""A validated file as rows (core/landing/rows.py)."""

import pandas as pd

from bodyfat_assets.core.landing.rows import raw_rows, scoring_rows, stable_test_mask


def test_raw_rows_carry_source_row_id_and_synthetic(labeled_frame):
    rows = raw_rows(labeled_frame.assign(synthetic=True), "batch-abc")
    assert set(rows["source"]) == {"batch-abc"} and list(rows["row_id"][:3]) == [1, 2, 3]
    assert rows["Density"].isna().all() and rows["synthetic"].all()


def test_scoring_rows_without_an_id_get_an_empty_one(labeled_frame):
    rows = scoring_rows(labeled_frame.drop(columns=["BodyFat"]), "s-1")
    assert set(rows["id"]) == {""} and "BodyFat" not in rows.columns and len(rows) == 20


def test_a_row_keeps_its_side_as_files_arrive(labeled_frame):
    first = raw_rows(labeled_frame, "a-1")
    both = pd.concat([first, raw_rows(labeled_frame, "b-2")], ignore_index=True)
    alone, together = stable_test_mask(first, 0.5, 42), stable_test_mask(both, 0.5, 42)
    assert list(together[:20]) == list(alone)
    assert 0 < together.sum() < len(together)
    assert list(stable_test_mask(first, 0.5, 7)) != list(alone), "the split seed changes the assignment"
