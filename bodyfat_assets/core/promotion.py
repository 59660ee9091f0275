"""The promotion gate: a challenger replaces the champion only when it is better on the same test split."""

from __future__ import annotations

from collections.abc import Callable
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


@dataclass(frozen=True)
class ChampionDecision:
    """What the `champion` step decided, and the figures behind it."""

    promoted: bool
    reason: str
    challenger_version: str
    previous_version: str | None
    """The champion before this decision (None: there was none)."""
    challenger_rmse: float
    champion_rmse: float | None

    @property
    def outcome(self) -> str:
        return "promoted" if self.promoted else "rejected"

    @property
    def champion_version(self) -> str | None:
        """The champion after this decision."""
        return self.challenger_version if self.promoted else self.previous_version

    @property
    def moves_alias(self) -> bool:
        return self.promoted and self.previous_version != self.challenger_version


def decide_champion(challenger_version: str, current_version: str | None, test_rmse: Callable[[str], float],
                    margin: float = 0.0) -> ChampionDecision:
    """Score the challenger and the current champion with `test_rmse` (the same test split for both, whatever each
    was trained on) and decide. A challenger that already is the champion stays, without a second scoring."""
    challenger_rmse = test_rmse(challenger_version)
    if current_version == challenger_version:
        return ChampionDecision(True, "challenger is already the champion", challenger_version, current_version,
                                challenger_rmse, challenger_rmse)
    champion_rmse = test_rmse(current_version) if current_version is not None else None
    gate = decide_promotion(challenger_rmse, champion_rmse, margin)
    return ChampionDecision(gate.promote, gate.reason, challenger_version, current_version, challenger_rmse,
                            champion_rmse)
