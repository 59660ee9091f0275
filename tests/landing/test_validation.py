"""Reading and checking one landed file (core/landing/validation.py)."""

import numpy as np
import pytest

from bodyfat_assets.core.landing.naming import SCORE, TRAIN
from bodyfat_assets.core.landing.rows import scoring_rows
from bodyfat_assets.core.landing.validation import REJECTION_CODES, Reject, read_landed_file
from bodyfat_assets.testing.landing_files import BAD_NAMES, bad_files, csv_bytes, parquet_bytes


def test_a_labeled_csv_and_the_same_rows_as_parquet_are_accepted(labeled_frame):
    for name, data in (("a.csv", csv_bytes(labeled_frame)), ("a.parquet", parquet_bytes(labeled_frame))):
        frame = read_landed_file(TRAIN, name, data)
        assert len(frame) == 20 and frame["Weight"].dtype == float


def test_header_matching_ignores_case_and_spaces(labeled_frame):
    shouted = labeled_frame.rename(columns=lambda c: f" {c.upper()} ")
    frame = read_landed_file(TRAIN, "a.csv", csv_bytes(shouted))
    assert list(frame.columns) == list(labeled_frame.columns)


def test_scoring_file_needs_predictors_only_and_keeps_the_senders_id(labeled_frame):
    scoring = labeled_frame.drop(columns=["BodyFat"]).assign(id=[f"p{i}" for i in range(20)])
    frame = read_landed_file(SCORE, "s.csv", csv_bytes(scoring))
    rows = scoring_rows(frame, "s-abc")
    assert list(rows["id"][:2]) == ["p0", "p1"] and list(rows["row_id"][:2]) == [1, 2]
    with pytest.raises(Reject) as missing_target:
        read_landed_file(TRAIN, "s.csv", csv_bytes(scoring))
    assert missing_target.value.code == "wrong_header" and "BodyFat" in missing_target.value.detail


@pytest.mark.parametrize("name", BAD_NAMES)
def test_each_bad_kind_is_rejected_with_its_code(name, labeled_frame):
    code, data = bad_files(labeled_frame)[name]
    with pytest.raises(Reject) as rejection:
        read_landed_file(TRAIN, name, data)
    assert rejection.value.code == code and rejection.value.detail
    assert code in REJECTION_CODES


def test_a_few_bad_rows_pass_validation_and_are_left_to_quarantine(labeled_frame):
    few = labeled_frame.astype({"Weight": object})
    few.loc[0, "Weight"] = "heavy"
    few.loc[1, "Height"] = 29.5
    frame = read_landed_file(TRAIN, "few.csv", csv_bytes(few))
    assert np.isnan(frame.loc[0, "Weight"]) and frame.loc[1, "Height"] == 29.5


def test_beyond_repair_names_the_worst_columns(labeled_frame):
    metric = labeled_frame.assign(Height=labeled_frame["Height"] * 2.54)
    with pytest.raises(Reject) as rejection:
        read_landed_file(TRAIN, "metric.csv", csv_bytes(metric))
    assert rejection.value.code == "beyond_repair" and "20/20 rows" in rejection.value.detail
    assert "Height (20)" in rejection.value.detail


def test_sub_folders_are_refused(labeled_frame):
    with pytest.raises(Reject, match="unsupported_location"):
        read_landed_file(TRAIN, "2026/a.csv", csv_bytes(labeled_frame))


@pytest.mark.parametrize(("data", "found"), [
    (b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>\n",
     "an HTML page titled '502 Bad Gateway'"),
    (b"<html>\n<head><title>404 Not Found</title></head>\n<body><center>nginx</center></body>\n</html>\n",
     "an HTML page titled '404 Not Found'"),
    (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
     "an XML document with error code 'AccessDenied'"),
    (b'{"error": "AccessDenied"}', "JSON"),
])
def test_an_error_page_or_body_saved_as_csv_says_what_was_found(data, found):
    """An HTML error page was reported as a wrong header, a JSON or XML error body as "empty"."""
    with pytest.raises(Reject) as caught:
        read_landed_file("train", "batch.csv", data)
    assert caught.value.code == "unreadable" and found in caught.value.detail


def test_a_header_without_rows_names_the_header_it_found():
    with pytest.raises(Reject) as caught:
        read_landed_file("train", "batch.csv", b"Age,Weight\n")
    assert caught.value.code == "empty" and "'Age,Weight'" in caught.value.detail


@pytest.mark.parametrize("kind", [SCORE, TRAIN])
def test_a_semicolon_separated_export_is_told_what_separator_to_use(kind, labeled_frame):
    data = labeled_frame.to_csv(index=False, sep=";").encode()
    with pytest.raises(Reject, match="wrong_header") as rejected:
        read_landed_file(kind, "european.csv", data)
    assert "semicolon-separated" in rejected.value.detail


def test_a_scoring_csv_with_a_truncated_last_row_is_rejected_by_the_sensor_as_the_run_would(labeled_frame):
    """The sensor and the scoring run parse a scoring CSV with one parser: a ragged row the run cannot read is a
    rejection with its reason at the sensor, not an accepted file whose run fails and leaves it in score/."""
    text = csv_bytes(labeled_frame.drop(columns=["BodyFat"]))
    ragged = text[: text.rstrip().rfind(b",", 0, len(text.rstrip()) - 20)] + b"\n"  # the last row cut mid-way
    with pytest.raises(Reject, match="unreadable") as rejected:
        read_landed_file(SCORE, "ragged.csv", ragged)
    assert "Expected" in rejected.value.detail and "ragged.csv" in rejected.value.detail
    assert len(read_landed_file(SCORE, "whole.csv", text)) == len(labeled_frame)
