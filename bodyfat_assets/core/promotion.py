"""The promotion gate: a challenger must pass the quality gate (no Density, under the RMSE ceiling, no worse than a
ridge baseline), then beat the champion on the same test split, and on the trusted holdout (the seed's test rows,
which no landed file replaces) be no worse than the champion by more than the margin. Landed rows join the test
split too, so poisoned labels can make a poisoned challenger win there (it did); the holdout cannot be
outvoted.

A blocked or rejected challenger is the gate working, not an error: it is recorded as a decision, and the run that
made it stays green. Only a real failure (registry down, data missing) fails the step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
from bodyfat_contract import DENSITY_COLUMNS, TARGET

from bodyfat_assets.core.evaluation import ridge_baseline_rmse
from bodyfat_assets.core.splits import train_test_frames


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


def holdout_guard(challenger_rmse: float, champion_rmse: float, margin: float = 0.0) -> tuple[bool, str]:
    """On the trusted holdout a challenger may be worse than the champion by at most `margin`: (passes, why)."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    loss = challenger_rmse - champion_rmse
    if loss > margin:
        return False, (f"on the trusted holdout challenger RMSE {challenger_rmse:.3f} is worse than champion "
                       f"{champion_rmse:.3f} by {loss:.3f} > {margin:g}")
    if loss <= 0:
        return True, (f"on the trusted holdout challenger RMSE {challenger_rmse:.3f} is no worse than champion "
                      f"{champion_rmse:.3f}")
    return True, (f"on the trusted holdout challenger RMSE {challenger_rmse:.3f} is worse than champion "
                  f"{champion_rmse:.3f} by {loss:.3f}, within the margin {margin:g}")


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
    blocked: bool = False
    """Refused by the quality gate before any comparison with the champion."""
    challenger_holdout_rmse: float | None = None
    champion_holdout_rmse: float | None = None
    """Both models on the trusted holdout (None: not scored, e.g. blocked, or no champion to compare with)."""

    @property
    def outcome(self) -> str:
        return "blocked" if self.blocked else "promoted" if self.promoted else "rejected"

    @property
    def champion_version(self) -> str | None:
        """The champion after this decision."""
        return self.challenger_version if self.promoted else self.previous_version

    @property
    def moves_alias(self) -> bool:
        return self.promoted and self.previous_version != self.challenger_version

    def comparisons(self) -> list[dict[str, object]]:
        """One row per comparison (the current test split, the trusted holdout): both RMSEs and the gain."""
        rows = []
        for on, challenger, champion in (("test split", self.challenger_rmse, self.champion_rmse),
                                         ("trusted holdout", self.challenger_holdout_rmse,
                                          self.champion_holdout_rmse)):
            rows.append({"on": on, "challenger_version": self.challenger_version, "challenger_rmse": challenger,
                         "champion_version": self.previous_version or "none", "champion_rmse": champion,
                         "gain": None if challenger is None or champion is None else champion - challenger})
        return rows


def decide_champion(challenger_version: str, current_version: str | None, test_rmse: Callable[[str], float],
                    holdout_rmse: Callable[[str], float], margin: float = 0.0) -> ChampionDecision:
    """Score the challenger and the current champion with `test_rmse` (the current test split) and `holdout_rmse`
    (the trusted holdout), the same rows for both whatever each was trained on, and decide: promote only when the
    challenger wins on the test split by more than `margin` and is not worse on the holdout by more than `margin`.
    A challenger that already is the champion stays, without a second scoring."""
    challenger_rmse, challenger_holdout = test_rmse(challenger_version), holdout_rmse(challenger_version)
    if current_version == challenger_version:
        return ChampionDecision(True, "challenger is already the champion", challenger_version, current_version,
                                challenger_rmse, challenger_rmse, challenger_holdout_rmse=challenger_holdout,
                                champion_holdout_rmse=challenger_holdout)
    if current_version is None:
        return ChampionDecision(True, "no champion yet", challenger_version, None, challenger_rmse, None,
                                challenger_holdout_rmse=challenger_holdout)
    champion_rmse, champion_holdout = test_rmse(current_version), holdout_rmse(current_version)
    gate = decide_promotion(challenger_rmse, champion_rmse, margin)
    holds, holdout_reason = holdout_guard(challenger_holdout, champion_holdout, margin)
    promote = gate.promote and holds
    reason = f"{gate.reason}, but {holdout_reason}" if gate.promote and not holds else \
        f"{gate.reason}; {holdout_reason}"
    return ChampionDecision(promote, reason, challenger_version, current_version, challenger_rmse, champion_rmse,
                            challenger_holdout_rmse=challenger_holdout, champion_holdout_rmse=champion_holdout)


@dataclass(frozen=True)
class GateFinding:
    """One quality-gate check on a challenger: the asset check of the same name shows it in the Dagster UI, and
    `champion` refuses a challenger with any failed finding."""

    check: str
    passed: bool
    detail: str
    figures: dict[str, float]


def density_finding(features: Sequence[str], allow_density: bool, density_columns: Sequence[str]) -> GateFinding:
    """`density_columns`: the contract's (DENSITY_COLUMNS); a contract that declares none has nothing to leak."""
    if not density_columns:
        return GateFinding("density_not_a_feature", True, "the contract declares no density column",
                           {"uses_density": 0.0})
    (density_column,) = density_columns
    uses = density_column in features
    return GateFinding("density_not_a_feature", not uses or allow_density,
                       f"{density_column} is a feature" if uses else f"{density_column} is not a feature",
                       {"uses_density": float(uses)})


def ceiling_finding(test_rmse: float, ceiling: float) -> GateFinding:
    return GateFinding("rmse_below_ceiling", test_rmse <= ceiling,
                       f"test RMSE {test_rmse:.3f} {'<=' if test_rmse <= ceiling else '>'} ceiling {ceiling:g}",
                       {"test_rmse": test_rmse, "ceiling": ceiling})


def baseline_finding(test_rmse: float, baseline_rmse: float, tolerance: float) -> GateFinding:
    limit = baseline_rmse * (1 + tolerance)
    return GateFinding("beats_ridge_baseline", test_rmse <= limit,
                       f"test RMSE {test_rmse:.3f} {'<=' if test_rmse <= limit else '>'} limit {limit:.3f} "
                       f"(ridge baseline {baseline_rmse:.3f} + {tolerance:.0%})",
                       {"test_rmse": test_rmse, "ridge_baseline_rmse": baseline_rmse, "limit": limit})


def blocked_decision(challenger_version: str, current_version: str | None,
                     findings: Sequence[GateFinding]) -> ChampionDecision | None:
    """A `blocked` decision naming every failed finding, or None when the challenger passed the gate."""
    failed = [f for f in findings if not f.passed]
    if not failed:
        return None
    reason = "blocked by " + "; ".join(f"{f.check}: {f.detail}" for f in failed)
    test_rmse = next((f.figures["test_rmse"] for f in findings if "test_rmse" in f.figures), float("nan"))
    return ChampionDecision(False, reason, challenger_version, current_version, test_rmse, None, blocked=True)


def quality_gate(features: Sequence[str], test_rmse: float, splits: pd.DataFrame, *, allow_density: bool,
                 rmse_ceiling: float, baseline_tolerance: float) -> list[GateFinding]:
    """Every gate finding for a challenger, computed as its asset checks compute them."""
    train, test = train_test_frames(splits)
    baseline = ridge_baseline_rmse(train, test, list(features), TARGET.name)
    return [density_finding(features, allow_density, DENSITY_COLUMNS), ceiling_finding(test_rmse, rmse_ceiling),
            baseline_finding(test_rmse, baseline, baseline_tolerance)]
