"""Cleaning across landed files: `source` travels with each row, duplicates are found across files."""

import pandas as pd

from bodyfat_assets.core.cleaning import clean, normalize_raw
from bodyfat_assets.core.landing.rows import raw_rows


def test_source_synthetic_and_origin_survive_normalization(labeled_frame):
    rows = raw_rows(labeled_frame.assign(synthetic=True, origin="seed:3"), "batch-1")
    out = normalize_raw(rows)
    assert list(out.columns[:2]) == ["source", "row_id"] and list(out.columns[-2:]) == ["synthetic", "origin"]
    assert set(out["origin"]) == {"seed:3"}


def test_without_source_the_columns_are_unchanged(labeled_frame):
    assert "source" not in normalize_raw(labeled_frame).columns


def test_the_same_subject_in_two_files_is_a_duplicate_named_by_source_and_row(labeled_frame):
    seed = raw_rows(labeled_frame.iloc[:5], "seed")
    batch = raw_rows(labeled_frame.iloc[[3]], "batch-1")
    result = clean(pd.concat([seed, batch], ignore_index=True))
    [row] = result.quarantine.to_dict("records")
    assert (row["source"], row["row_id"], row["rules"]) == ("batch-1", 1, "duplicate")
    assert row["reasons"] == "duplicate of seed row 4"
    assert len(result.cleaned) == 5 and set(result.cleaned["source"]) == {"seed"}


def test_row_ids_repeat_across_sources_without_being_duplicates(labeled_frame):
    result = clean(pd.concat([raw_rows(labeled_frame.iloc[:3], "seed"), raw_rows(labeled_frame.iloc[3:6], "b")]))
    assert result.quarantine.empty and len(result.cleaned) == 6


def test_splits_are_stable_as_files_arrive(labeled_frame, seed_frame):
    from bodyfat_assets.core.splits import split_rows, stratified_split

    seed = raw_rows(seed_frame.iloc[:100], "seed")
    batch_a = raw_rows(labeled_frame.assign(BodyFat=labeled_frame["BodyFat"] + 0.3), "a-1")
    batch_b = raw_rows(labeled_frame.assign(BodyFat=labeled_frame["BodyFat"] + 0.6), "b-2")
    before = split_rows(pd.concat([seed, batch_a], ignore_index=True), 0.2, 42)
    after = split_rows(pd.concat([seed, batch_a, batch_b], ignore_index=True), 0.2, 42)
    assert list(after["split"][: len(before)]) == list(before["split"]), "no row changes side"
    assert list(before["split"][:100]) == list(stratified_split(seed, 0.2, 42)["split"]), "seed split unchanged"
    assert 0 < (after["split"] == "test").sum() < len(after)
