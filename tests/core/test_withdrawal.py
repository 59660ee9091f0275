"""Taking a labeled file back: the record, and cleaning quarantining the file's rows whole under `withdrawn`."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.landing.rows import raw_rows
from bodyfat_assets.core.withdrawal import WithdrawalError, withdrawal_record, withdrawn_sources

WHEN = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
KNOWN = ["seed", "visits-ab12"]


def test_a_record_names_the_file_and_the_reason():
    record = withdrawal_record("visits-ab12", "  scale off by 5 kg  ", KNOWN, WHEN)
    assert record.to_dict("records") == [{"source": "visits-ab12", "reason": "scale off by 5 kg",
                                          "withdrawn_at": "2026-01-05T12:00:00+00:00"}]


@pytest.mark.parametrize(("partition", "reason", "message"), [
    ("visits-ab12", "   ", "needs a reason"),
    ("seed", "bad", "trusted holdout"),
    ("nope-00", "bad", "no labeled file `nope-00`"),
])
def test_a_withdrawal_without_reason_of_the_seed_or_of_an_unknown_file_is_refused(partition, reason, message):
    with pytest.raises(WithdrawalError, match=message):
        withdrawal_record(partition, reason, KNOWN, WHEN)


def test_the_latest_reason_wins_and_no_record_means_nothing_withdrawn():
    records = pd.concat([withdrawal_record("visits-ab12", "first look", KNOWN, WHEN),
                         withdrawal_record("visits-ab12", "confirmed: wrong scale", KNOWN, WHEN.replace(hour=13))])
    assert withdrawn_sources(records) == {"visits-ab12": "withdrawn: confirmed: wrong scale"}
    assert withdrawn_sources(pd.DataFrame()) == {}


def test_every_row_of_a_withdrawn_file_is_quarantined_with_the_reason_and_the_others_stay(seed_frame):
    raw = pd.concat([raw_rows(seed_frame.iloc[:20], "seed"), raw_rows(seed_frame.iloc[20:30], "visits-ab12")])
    withdrawn = withdrawn_sources(withdrawal_record("visits-ab12", "wrong scale", KNOWN, WHEN))
    result = clean(raw, withdrawn_sources=withdrawn)
    held = result.quarantine[result.quarantine["source"] == "visits-ab12"]
    # Rows 21-30 of the seed are clean under every other rule, so `withdrawn` is the only reason they are held.
    assert len(held) == 10 and set(held["rules"]) == {"withdrawn"}
    assert set(held["reasons"]) == {"withdrawn: wrong scale"}
    assert "visits-ab12" not in set(result.cleaned["source"])
    assert set(result.cleaned["source"]) == {"seed"} and len(result.cleaned) == len(clean(raw.iloc[:20]).cleaned)
