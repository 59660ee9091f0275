"""Whether the champion still fits the data of today, and what to do when it does not while no challenger passes.

A +8 shift in every BodyFat retrains with evidence, but the challenger is blocked by the ceiling (6.177 > 6.0) or
rejected on the trusted holdout, and the champion keeps serving a world it no longer fits: 3.82 RMSE at promotion,
6.09 on today's test split. Each decision is right on its own; together they are a state an operator must hear of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NOT_PROMOTED = ("blocked", "rejected")
OPERATOR_ACTIONS = ("review the new labels; withdraw them if they are wrong (`bodyfat withdraw`); or accept the "
                    "shift by moving the trusted holdout on purpose (README: When the world has shifted)")


@dataclass(frozen=True)
class ChampionFit:
    fits: bool
    detail: str
    figures: dict[str, float]


def champion_fit(decision: str | None, champion_version: str | None, rmse_now: float | None,
                 rmse_at_promotion: float | None, *, ceiling: float, ratio: float) -> ChampionFit:
    """The champion does not fit current data when the last decision kept it (a challenger blocked or rejected) while
    its RMSE on today's test split is above the RMSE ceiling a challenger must meet, or above `ratio` × its RMSE at
    promotion (the ratio that makes a labeled file's live error evidence for a retrain)."""
    if champion_version is None or rmse_now is None or not math.isfinite(rmse_now):
        return ChampionFit(True, "no champion measured on today's test split yet", {})
    limit = ceiling if rmse_at_promotion is None else min(ceiling, ratio * rmse_at_promotion)
    figures = {"rmse_now": rmse_now, "limit": limit, "ceiling": ceiling,
               **({} if rmse_at_promotion is None else {"rmse_at_promotion": rmse_at_promotion})}
    at_promotion = "" if rmse_at_promotion is None else f", {rmse_at_promotion:.2f} at promotion"
    measured = f"champion v{champion_version}: RMSE {rmse_now:.2f} on today's test split{at_promotion}"
    if rmse_now <= limit:
        return ChampionFit(True, f"{measured}, within {limit:.2f}", figures)
    if decision not in NOT_PROMOTED:
        return ChampionFit(True, f"{measured}, above {limit:.2f}, but the last decision was {decision or 'none'}: "
                                 f"a retrain is still to decide", figures)
    return ChampionFit(False, f"the world has shifted and no challenger passes the gate: {measured}, above "
                              f"{limit:.2f}, and the last challenger was {decision}. Next: {OPERATOR_ACTIONS}",
                       figures)


FIT_METRICS = {
    "bodyfat_champion_fits_current_data": "1 while the champion fits today's data, 0 in the shifted-world state",
    "bodyfat_champion_rmse_now": "the champion's RMSE on today's test split",
    "bodyfat_champion_rmse_at_promotion": "the champion's test RMSE when it was promoted",
}


def fit_metrics(fit: ChampionFit) -> str:
    """Prometheus text exposition of `fit`, for node_exporter's textfile collector (`bodyfat health --textfile`):
    the pipeline has no HTTP endpoint of its own to scrape."""
    values = {"bodyfat_champion_fits_current_data": float(fit.fits),
              "bodyfat_champion_rmse_now": fit.figures.get("rmse_now"),
              "bodyfat_champion_rmse_at_promotion": fit.figures.get("rmse_at_promotion")}
    lines = []
    for name, value in values.items():
        if value is not None:
            lines += [f"# HELP {name} {FIT_METRICS[name]}", f"# TYPE {name} gauge", f"{name} {value:g}"]
    return "\n".join(lines) + "\n"
