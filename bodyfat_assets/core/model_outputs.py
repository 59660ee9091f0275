"""What `tuned_model` and `champion` hand downstream (checks, `champion`, `batch_predictions`, the demo report).

Pydantic models rather than dataclasses: the lake IO manager stores them as JSON and validates them back into the
type the reading asset declares, so a renamed or missing field fails at the read, by name, not as a KeyError later.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from bodyfat_assets.core.promotion import ChampionDecision


class TunedModel(BaseModel):
    """The challenger `tuned_model` registered (or reused): its registry coordinates, its model card, its study."""

    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    model_name: str
    model_version: str
    family: str
    features: list[str]
    params: dict[str, Any]
    cv_rmse: float
    test_rmse: float
    test_mae: float
    test_r2: float
    interval_half_width_90: float
    test_interval_coverage_90: float
    trained_at: str
    run_id: str
    study: str
    trials_this_run: int
    trials_in_study: int


class ChampionOutcome(BaseModel):
    """What `champion` decided, and the serving champion measured on today's test split and at its promotion
    (the `champion_fits_current_data` check compares the two)."""

    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    model_name: str
    champion_version: str | None
    challenger_version: str
    decision: Literal["promoted", "rejected", "blocked"]
    reason: str
    challenger_test_rmse: float
    champion_test_rmse: float | None
    previous_champion_version: str | None
    challenger_holdout_rmse: float | None
    champion_holdout_rmse: float | None
    champion_rmse_now: float | None = None
    champion_rmse_at_promotion: float | None = None

    @classmethod
    def of(cls, model_name: str, decision: ChampionDecision, rmse_now: float | None,
           rmse_at_promotion: float | None) -> ChampionOutcome:
        return cls(model_name=model_name, champion_version=decision.champion_version,
                   challenger_version=decision.challenger_version, decision=decision.outcome,
                   reason=decision.reason, challenger_test_rmse=decision.challenger_rmse,
                   champion_test_rmse=decision.champion_rmse, previous_champion_version=decision.previous_version,
                   challenger_holdout_rmse=decision.challenger_holdout_rmse,
                   champion_holdout_rmse=decision.champion_holdout_rmse, champion_rmse_now=rmse_now,
                   champion_rmse_at_promotion=rmse_at_promotion)
