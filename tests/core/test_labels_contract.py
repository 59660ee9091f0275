"""The labels file contract (landing/labels/): BodyFat and a key naming the served prediction, the same rejection
codes as the other kinds."""

from __future__ import annotations

import pytest

from bodyfat_assets.core.landing.naming import LABELS
from bodyfat_assets.core.landing.reject import Reject
from bodyfat_assets.core.landing.validation import read_landed_file


def test_a_labels_file_keyed_by_prediction_id_or_caller_id_is_read() -> None:
    data = b"prediction_id,id,BodyFat\nabc,,21.5\n,person-7,18\n,, 19\nxyz,,75\n"
    frame = read_landed_file(LABELS, "labels.csv", data)
    assert frame["BodyFat"].tolist()[:3] == [21.5, 18.0, 19.0]
    assert frame["prediction_id"].iloc[0] == "abc" and frame["id"].iloc[1] == "person-7"
    assert frame["prediction_id"].isna().tolist() == [False, True, True, False]  # missing, never the text 'nan'
    # rows 3 (no key) and 4 (BodyFat outside 2-60) pass the file check: cleaning quarantines them, with reasons


@pytest.mark.parametrize(("data", "code", "words"), [
    (b"BodyFat\n20\n", "wrong_header", "no key column"),
    (b"prediction_id,BodyFat,Age\na,20,30\n", "wrong_header", "unknown ['Age']"),
    (b"prediction_id,BodyFat\na,80\nb,90\nc,20\n", "beyond_repair", "BodyFat"),
    (b"prediction_id,BodyFat\n,20\n,21\nc,20\n", "beyond_repair", "key"),
    (b"prediction_id,BodyFat\na,fat\nb,lean\n", "non_numeric", "BodyFat"),
])  # fmt: skip
def test_bad_labels_files_are_rejected_with_a_reason(data: bytes, code: str, words: str) -> None:
    with pytest.raises(Reject) as caught:
        read_landed_file(LABELS, "labels.csv", data)
    assert caught.value.code == code and words in str(caught.value)
