"""The model-health plot: live RMSE and interval coverage per labeled file, in landing order, against the
champion's test RMSE and the nominal 90 %."""

from __future__ import annotations

import pandas as pd

from bodyfat_assets.core.evaluation import plt, png_bytes

NOMINAL_COVERAGE = 0.9


def health_png(history: pd.DataFrame) -> bytes:
    """`history`: one row per labeled file with rmse, coverage and champion_test_rmse, in landing order."""
    fig, (rmse_ax, coverage_ax) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    files = range(1, len(history) + 1)
    rmse_ax.plot(files, history["rmse"], "o-", label="live RMSE")
    rmse_ax.plot(files, history["champion_test_rmse"], "k--", label="champion test RMSE")
    rmse_ax.set(ylabel="RMSE (% body fat)", title="Champion on newly labeled files")
    rmse_ax.legend(fontsize=7)
    coverage_ax.plot(files, history["coverage"], "o-", color="tab:green", label="live 90 % coverage")
    coverage_ax.axhline(NOMINAL_COVERAGE, color="k", linestyle="--", label="nominal 0.90")
    coverage_ax.set(xlabel="labeled file, in landing order", ylabel="coverage", ylim=(0, 1.05))
    coverage_ax.legend(fontsize=7)
    return png_bytes(fig)
