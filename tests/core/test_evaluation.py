import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from bodyfat_assets.core.evaluation import (
    bmi_groups,
    bmi_groups_of,
    conformal_half_width,
    coverage_by_group,
    coverage_metrics,
    cv_plus_half_width,
    interval_coverage,
    regression_metrics,
)
from bodyfat_assets.core.figures import predicted_vs_actual_png, residuals_png
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


def test_cv_plus_with_identical_fold_models_is_the_conformal_quantile():
    # Every fold model predicts 0: no model variability, so CV+ reduces to the residual quantile.
    y = pd.Series(np.arange(1.0, 20.0)[::-1])  # n=19: ranks 18 (upper) and 2 (lower) -> half-width 18
    X = pd.DataFrame({"x": np.zeros(19)})
    zero = DummyRegressor(strategy="constant", constant=0.0)
    assert cv_plus_half_width(zero, X, y, folds=5, seed=0) == conformal_half_width(y.to_numpy()) == 18


def test_cv_plus_widens_with_model_variability():
    # An unstable model (the mean of a heavy-tailed target) moves between folds; CV+ carries that, residuals alone
    # do not: its half-width is at least the plain quantile of out-of-fold residuals here.
    rng = np.random.default_rng(1)
    y = pd.Series(rng.standard_t(df=2, size=60))
    X = pd.DataFrame({"x": np.zeros(60)})
    mean = DummyRegressor(strategy="mean")
    from bodyfat_assets.core.evaluation import cross_validated_residuals

    plain = conformal_half_width(cross_validated_residuals(mean, X, y, folds=5, seed=0))
    assert cv_plus_half_width(mean, X, y, folds=5, seed=0) >= plain - 1e-12


def test_cv_plus_covers_about_ninety_percent_of_new_rows():
    rng = np.random.default_rng(0)
    coverages = []
    for _ in range(40):
        x = rng.normal(size=(80, 3))
        y = x @ [1.0, -2.0, 0.5] + rng.standard_t(df=4, size=80)
        x_new = rng.normal(size=(2_000, 3))
        y_new = x_new @ [1.0, -2.0, 0.5] + rng.standard_t(df=4, size=2_000)
        model = LinearRegression()
        half = cv_plus_half_width(model, pd.DataFrame(x), pd.Series(y), folds=5, seed=0)
        coverages.append(interval_coverage(y_new, model.fit(x, y).predict(x_new), half))
    assert 0.88 <= np.mean(coverages) <= 0.93


def test_cv_plus_needs_enough_rows():
    with pytest.raises(ValueError, match="too few"):
        cv_plus_half_width(LinearRegression(), pd.DataFrame({"x": np.arange(5.0)}), pd.Series(np.arange(5.0)), 5)


def test_bmi_groups_use_pounds_and_inches():
    # 703 * lb / in^2: 150 lb at 70 in is 21.5; 175 lb at 70 in is 25.1; 250 lb at 70 in is 35.9.
    weight, height = np.array([150.0, 175.0, 250.0, 25 * 70**2 / 703]), np.full(4, 70.0)
    assert list(bmi_groups(weight, height)) == ["<25", "25-30", ">=30", "25-30"], "25 exactly is overweight"


def test_coverage_by_group_counts_rows_inside_the_interval():
    actual = np.array([10.0, 20.0, 30.0, 40.0])
    table = coverage_by_group(actual, actual + np.array([1.0, 3.0, 1.0, 1.0]), 2.0,
                              np.array(["<25", "<25", ">=30", ">=30"]))
    rows = table.set_index("group")
    assert rows.loc["<25", "coverage"] == 0.5 and rows.loc[">=30", "coverage"] == 1.0
    assert rows.loc["25-30", "rows"] == 0 and np.isnan(rows.loc["25-30", "coverage"])
    assert rows.loc["all", "covered"] == 3 and rows.loc["all", "rows"] == 4


def test_rows_without_weight_and_height_are_covered_overall_only():
    assert bmi_groups_of(pd.DataFrame({"age": [50.0], "bmi": [31.0]})) is None
    table = coverage_by_group(np.zeros(2), np.array([0.0, 3.0]), 1.0, None)
    assert list(table["group"]) == ["all"] and table["coverage"].iloc[0] == 0.5
    assert coverage_metrics(table) == {}


def test_coverage_metrics_have_names_mlflow_accepts():
    table = coverage_by_group(np.zeros(3), np.zeros(3), 1.0, np.array(["<25", "25-30", "25-30"]))
    assert coverage_metrics(table) == {"test_interval_coverage_90_bmi_lt25": 1.0,
                                       "test_interval_coverage_90_bmi_25_30": 1.0}, "no empty group, no 'all'"


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
