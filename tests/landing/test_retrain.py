"""The retraining debounce (core/landing/retrain.py)."""

import pytest

from bodyfat_assets.core.landing.retrain import retrain_decision, retrain_outlook


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


def test_evidence_bypasses_the_minimum_rows_but_not_the_interval():
    evidence = ["live RMSE 9.10 > 1.25 × champion test RMSE 4.50 on 30 rows"]
    now = retrain_decision(30, 1, 900, min_rows=50, min_interval_s=600, evidence=evidence)
    assert now.retrain and now.reason == f"evidence: {evidence[0]}"
    too_soon = retrain_decision(30, 1, 60, min_rows=50, min_interval_s=600, evidence=evidence)
    assert not too_soon.retrain and "waiting for 50" in too_soon.reason
    assert not retrain_decision(30, 1, 900, min_rows=50, min_interval_s=600).retrain, "without evidence: waits"


def test_a_queued_running_or_retrying_run_holds_back_a_new_request():
    from bodyfat_assets.core.landing.retrain import CANCELED, FAILED, IN_FLIGHT, SUCCEEDED, LatestRetrain, waiting_for

    assert waiting_for(None) is None
    assert "is running" in waiting_for(LatestRetrain("abcdef123", IN_FLIGHT, "STARTED"))
    assert "retry 2" in waiting_for(LatestRetrain("abcdef123", FAILED, "FAILURE", will_retry=True, retry_number=1))
    assert waiting_for(LatestRetrain("abcdef123", FAILED, "FAILURE", will_retry=False, retry_number=2)) is None
    assert waiting_for(LatestRetrain("abcdef123", SUCCEEDED, "SUCCESS")) is None
    assert waiting_for(LatestRetrain("abcdef123", CANCELED, "CANCELED")) is None


def test_the_run_key_names_the_data_not_the_order_or_repeats():
    from bodyfat_assets.core.landing.retrain import retrain_run_key

    assert retrain_run_key(["seed", "a-1"]) == retrain_run_key(["a-1", "seed", "a-1"])
    assert retrain_run_key(["seed", "a-1"]) != retrain_run_key(["seed", "a-1", "b-2"])


def test_the_feed_says_when_its_rows_retrain_and_why():
    soon = retrain_outlook(50, 20, min_rows=50, min_interval_s=60, sensor_interval_s=30)
    assert soon.startswith("Retrain: in about 40 s") and "BODYFAT_RETRAIN_MIN_INTERVAL_S=60" in soon
    now = retrain_outlook(50, 700, min_rows=50, min_interval_s=600, sensor_interval_s=30)
    assert now.startswith("Retrain: at the sensor's next look") and "every 30 s" in now
    assert "first training" in retrain_outlook(50, None, min_rows=50, min_interval_s=600, sensor_interval_s=30)
    few = retrain_outlook(25, 700, min_rows=50, min_interval_s=600, sensor_interval_s=30)
    assert "waits for 50 new rows" in few
    assert retrain_outlook(0, 700, min_rows=50, min_interval_s=600, sensor_interval_s=30).startswith("Retrain: none")
    assert not retrain_decision(50, 2, 20, min_rows=50, min_interval_s=60).retrain
    assert retrain_decision(50, 2, 20 + 40, min_rows=50, min_interval_s=60).retrain, "due when the feed said"


def test_a_fresh_instance_does_not_speak_of_a_retraining_run_that_never_was():
    fresh = retrain_decision(0, 0, None, min_rows=50, min_interval_s=600)
    assert not fresh.retrain and "last successful retraining run" not in fresh.reason
    assert fresh.reason == "no labeled file ingested yet: the first training waits for one"
    assert "last successful retraining run" in retrain_decision(0, 0, 900, min_rows=50, min_interval_s=600).reason
