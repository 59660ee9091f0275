"""The champion no longer fits today's data while no challenger passes the gate: a named state, not a silence."""

import pytest

from bodyfat_assets.core.health.fit import champion_fit, fit_metrics

LIMITS = {"ceiling": 6.0, "ratio": 1.25}


@pytest.mark.parametrize("decision", ["blocked", "rejected"])
def test_a_shifted_world_with_the_challenger_refused_does_not_fit(decision):
    # The probe's figures: 3.82 at promotion, 6.09 on today's test split; the limit is 1.25 × 3.82 = 4.78.
    fit = champion_fit(decision, "3", 6.09, 3.82, **LIMITS)
    assert not fit.fits
    assert "world has shifted" in fit.detail and f"last challenger was {decision}" in fit.detail
    assert "6.09" in fit.detail and "3.82 at promotion" in fit.detail and "withdraw" in fit.detail
    assert fit.figures["limit"] == pytest.approx(4.775)


def test_the_ceiling_bounds_the_limit_when_the_champion_was_promoted_high():
    assert not champion_fit("blocked", "3", 6.1, 5.5, **LIMITS).fits  # 1.25 × 5.5 = 6.9, but over the 6.0 ceiling


@pytest.mark.parametrize(("decision", "now"), [
    ("blocked", 4.2),      # refused, but the champion still fits
    ("promoted", 6.09),    # a new champion was just chosen on this very split
    (None, 6.09),          # no decision recorded yet
])
def test_a_fitting_champion_or_a_fresh_decision_passes(decision, now):
    assert champion_fit(decision, "3", now, 3.82, **LIMITS).fits


def test_no_champion_passes_with_a_reason():
    fit = champion_fit("blocked", None, None, None, **LIMITS)
    assert fit.fits and "no champion" in fit.detail


def test_the_textfile_gauges_say_the_state_and_both_errors():
    unfit = champion_fit("blocked", "3", 6.09, 3.82, **LIMITS)
    samples = dict(line.split(" ") for line in fit_metrics(unfit).splitlines() if not line.startswith("#"))
    assert samples == {"bodyfat_champion_fits_current_data": "0", "bodyfat_champion_rmse_now": "6.09",
                       "bodyfat_champion_rmse_at_promotion": "3.82"}
    assert "bodyfat_champion_fits_current_data 1" in fit_metrics(champion_fit("blocked", "3", 4.0, 3.82, **LIMITS))
