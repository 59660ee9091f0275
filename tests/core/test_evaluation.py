import numpy as np
import pytest

from bodyfat_assets.core.evaluation import (
    conformal_half_width,
    interval_coverage,
    predicted_vs_actual_png,
    regression_metrics,
    residuals_png,
)
from bodyfat_assets.core.promotion import decide_promotion


def test_metrics_on_known_values():
    m = regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert m.rmse == pytest.approx(np.sqrt(4 / 3))
    assert m.mae == pytest.approx(2 / 3)
    assert m.as_dict()["test_rmse"] == m.rmse


def test_conformal_half_width_is_the_finite_sample_quantile():
    residuals = np.arange(1, 20)  # n=19: rank ceil(20*0.9)=18 → 18
    assert conformal_half_width(residuals, 0.9) == 18
    assert conformal_half_width(-residuals, 0.9) == 18, "absolute residuals"


def test_conformal_needs_enough_residuals():
    with pytest.raises(ValueError, match="too few"):
        conformal_half_width(np.array([1.0, 2.0]), 0.9)


def test_conformal_guarantee_holds_on_average_over_calibration_sets():
    # Split conformal promises 0.9 <= E[coverage] <= 0.9 + 1/(n+1) over calibration draws.
    rng = np.random.default_rng(0)
    n = 40
    new = rng.standard_t(df=3, size=5_000)
    coverages = [interval_coverage(new, np.zeros_like(new), conformal_half_width(rng.standard_t(df=3, size=n)))
                 for _ in range(400)]
    assert 0.895 <= np.mean(coverages) <= 0.9 + 1 / (n + 1) + 0.005


def test_figures_are_png():
    y = np.linspace(5, 40, 30)
    for png in (predicted_vs_actual_png(y, y + 1, 2.0), residuals_png(y, y + 1)):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


@pytest.mark.parametrize(
    ("challenger", "champion", "margin", "promote"),
    [(4.0, None, 0.1, True), (4.0, 4.5, 0.1, True), (4.45, 4.5, 0.1, False), (4.6, 4.5, 0.0, False),
     (4.5, 4.5, 0.0, False)],
)
def test_promotion_gate(challenger, champion, margin, promote):
    decision = decide_promotion(challenger, champion, margin)
    assert decision.promote is promote
    assert decision.challenger_rmse == challenger and decision.champion_rmse == champion


def test_negative_margin_is_refused():
    with pytest.raises(ValueError):
        decide_promotion(4.0, 4.1, -1)
