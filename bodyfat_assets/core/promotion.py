"""The promotion gate: a challenger replaces the champion only when it is better on the same test split."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str
    challenger_rmse: float
    champion_rmse: float | None


def decide_promotion(challenger_rmse: float, champion_rmse: float | None, margin: float = 0.0) -> PromotionDecision:
    """Promote when there is no champion, or the challenger's RMSE is lower by more than `margin`."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if champion_rmse is None:
        return PromotionDecision(True, "no champion yet", challenger_rmse, None)
    gain = champion_rmse - challenger_rmse
    if gain > margin:
        reason = f"challenger RMSE {challenger_rmse:.3f} beats champion {champion_rmse:.3f} by {gain:.3f} > {margin:g}"
        return PromotionDecision(True, reason, challenger_rmse, champion_rmse)
    reason = f"challenger RMSE {challenger_rmse:.3f} does not beat champion {champion_rmse:.3f} by more than {margin:g}"
    return PromotionDecision(False, reason, challenger_rmse, champion_rmse)
