"""The retraining debounce (core/landing/retrain.py)."""

import pytest

from bodyfat_assets.core.landing.retrain import retrain_decision


@pytest.mark.parametrize(("rows", "files", "since", "expected"), [
    (0, 0, None, False),      # nothing new
    (10, 1, None, True),      # no model yet: any data trains the first
    (10, 1, 9999, False),     # too few rows
    (60, 2, 30, False),       # enough rows, too soon
    (60, 2, 600, True),       # enough rows, long enough
])
def test_retrain_debounce(rows, files, since, expected):
    decision = retrain_decision(rows, files, since, min_rows=50, min_interval_s=600)
    assert decision.retrain is expected and decision.reason
