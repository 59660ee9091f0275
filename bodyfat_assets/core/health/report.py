"""The model-health plot: live RMSE and interval coverage per labeled file, in landing order, against the
champion's test RMSE and the nominal 90 %."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bodyfat_assets.core.health.fit import ChampionFit
from bodyfat_assets.core.health.loop import Decision, FailedRun, LandedFile, decision_lines, trouble_lines

NOMINAL_COVERAGE = 0.9


def health_png(history: pd.DataFrame) -> bytes:
    """`history`: one row per labeled file with rmse, coverage and champion_test_rmse, in landing order."""
    # Here, not at the top: `bodyfat health` prints health_text, and evaluation's matplotlib, Optuna and
    # scikit-learn cost it 4 s of CPU.
    from bodyfat_assets.core.figures import plt, png_bytes

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


def health_text(*, champion: dict | None, history: pd.DataFrame | None, stale: dict[str, float],
                last_retrain: dict | None, files: int = 5, fit: ChampionFit | None = None,
                decisions: Sequence[Decision] = (), failed: Sequence[FailedRun] = (),
                stuck: Sequence[LandedFile] = (), since: str = "the start",
                served: pd.DataFrame | None = None, served_counts: dict[str, int] | None = None) -> str:
    """The same facts model_health and the champion asset show in the Dagster UI, for a terminal, bad news first:
    the state when the champion no longer fits, the champion's error now beside at promotion, the last decisions
    with their outcomes, failed runs and stuck files since the last successful retrain, live error on the last
    labeled files, drifting features, what the API served measured on its labels per model version, stale assets.

    `served`: `served.performance_by_version` of every labels file; `served_counts`: their `status_counts`."""
    lines = []
    if fit is not None and not fit.fits:
        lines.append(f"STATE: CHAMPION DOES NOT FIT CURRENT DATA: {fit.detail}")
    if champion is None:
        lines.append("champion: none yet (run `make demo` or let the landing sensor ingest the seed)")
    else:
        now = champion.get("rmse_now")
        measured = f"RMSE {now:.2f} on today's test split, " if now is not None else ""
        lines.append(f"champion: v{champion['version']} ({champion['family']}), {measured}test RMSE "
                     f"{champion['test_rmse']} at promotion, promoted {champion['age_hours']:.1f} h ago")
    if last_retrain is None:
        lines.append("last retrain run: none")
    else:
        lines.append(f"last retrain run: {last_retrain['status']} {last_retrain['age_hours']:.1f} h ago, "
                     f"reason: {last_retrain['reason']}")
    lines += decision_lines(decisions)
    lines += trouble_lines(failed, stuck, since)
    if history is None or history.empty:
        lines.append("live performance: no labeled file measured yet")
    else:
        lines.append(f"live performance on the last {min(files, len(history))} labeled file(s):")
        for row in history.tail(files).itertuples(index=False):
            drifted = f"; drifted: {row.drifted_features}" if row.drifted_features else ""
            flags = "; SUSPECT LABELS" if row.suspect_labels else f"; evidence: {row.evidence}" if row.evidence else ""
            lines.append(f"  {row.source}: v{row.model_version} on {row.rows} rows, RMSE {row.rmse:.2f}, coverage "
                         f"{row.coverage:.2f}{drifted}{flags}")
        drifting = sorted({f for d in history["drifted_features"].tail(files) if d for f in d.split(",")})
        lines.append(f"features drifting in those files: {', '.join(drifting) or 'none'}")
    lines += served_lines(served, served_counts or {})
    lines.append("stale assets: " + (", ".join(f"{k} ({v:.1f} h since its last materialization)"
                                               for k, v in stale.items()) or "none"))
    return "\n".join(lines)


def served_lines(by_version: pd.DataFrame | None, counts: dict[str, int]) -> list[str]:
    """Served performance per model version, with the labels that matched nothing counted."""
    if by_version is None or not counts:
        return ["served performance: no labels file measured yet (landing/labels/, docs/monitoring/README.md)"]
    lines = [f"served performance on labels ({counts.get('matched', 0)} matched, {counts.get('unmatched', 0)} "
             f"unmatched, {counts.get('quarantined', 0)} quarantined):"]
    for row in by_version.itertuples(index=False):
        lines.append(f"  v{row.model_version}: {row.rows} rows, RMSE {row.rmse:.2f}, MAE {row.mae:.2f}, bias "
                     f"{row.bias:+.2f}, coverage {row.coverage:.2f}")
    return lines
