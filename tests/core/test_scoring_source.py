"""The file behind a scoring partition (core/scoring/source.py) and the re-scoring window rule."""

import json

import pytest

from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.core.landing.partition_file import PartitionFileGone
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.core.scoring.source import DAY_S, NO_CHAMPION_YET, rescore_skip_reason, scoring_source
from bodyfat_assets.lake import LocalStore

DATA = b"Age,Weight\n23,154\n"
KEY = partition_key_for("night.csv", content_hash(DATA))


@pytest.fixture
def store(tmp_path) -> LocalStore:
    store = LocalStore(tmp_path / "landing")
    store.write_bytes("score/night.csv", DATA)
    return store


def test_a_landed_file_is_read_then_moved_to_processed(store, seed_path):
    source = scoring_source(store, KEY, "night.csv", seed_path)
    with source.open() as file:
        assert file.read() == DATA
    assert source.mark_processed(KEY).endswith(f"processed/score/{KEY}.csv")
    assert store.list_keys() == [f"processed/score/{KEY}.csv"]
    again = scoring_source(store, KEY, "night.csv", seed_path)
    assert again.landed_key is None and again.mark_processed(KEY) is None, "a re-scoring reads the processed copy"


def test_a_landed_file_that_fails_in_its_run_goes_to_rejected_with_its_reason(store, seed_path):
    source = scoring_source(store, KEY, "night.csv", seed_path)
    moved = source.mark_rejected(Reject("wrong_header", "missing ['Abdomen']"))
    assert moved.startswith("rejected/score/") and not store.exists("score/night.csv")
    assert store.read_bytes(moved) == DATA
    assert json.loads(store.read_bytes(f"{moved}.reason.json"))["reason"] == "wrong_header"


def test_the_seed_is_read_from_the_seed_dataset_and_never_moved(store, seed_path):
    source = scoring_source(store, SEED_PARTITION, None, seed_path)
    with source.open() as file:
        assert file.readline().startswith(b"Density,BodyFat")
    assert source.mark_processed(SEED_PARTITION) is None and store.list_keys() == ["score/night.csv"]


def test_a_vanished_file_is_named(store, seed_path):
    store.delete("score/night.csv")
    with pytest.raises(PartitionFileGone, match=KEY):
        scoring_source(store, KEY, "night.csv", seed_path)


@pytest.mark.parametrize(("first_scored_days_ago", "window_days", "skipped"), [
    (None, 7, False),  # never scored: always scored
    (6.9, 7, False),
    (7.1, 7, True),
    (400, 0, False),  # 0: every file
])
def test_the_rescoring_window(first_scored_days_ago, window_days, skipped):
    now = 1_800_000_000.0
    first = None if first_scored_days_ago is None else now - first_scored_days_ago * DAY_S
    reason = rescore_skip_reason(first, now, window_days)
    assert (reason is not None) == skipped
    if skipped:
        assert "BODYFAT_RESCORE_WINDOW_DAYS" in reason and "7.1 days ago" in reason


@pytest.mark.parametrize("first_scored_days_ago", [None, 1.0])
def test_with_no_champion_an_automatic_rescoring_has_nothing_to_score_with(first_scored_days_ago):
    now = 1_800_000_000.0
    first = None if first_scored_days_ago is None else now - first_scored_days_ago * DAY_S
    assert rescore_skip_reason(first, now, 7, None) == NO_CHAMPION_YET
    assert rescore_skip_reason(first, now, 7, 3) is None, "a champion exists: scored"
