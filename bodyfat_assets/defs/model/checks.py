"""The quality gate on a challenger, shown in the Dagster UI: no Density, under the RMSE ceiling, no worse than a
ridge baseline. Not blocking: `champion` applies the same findings (core/promotion.py) and records a failed one as a
`blocked` decision, so a worse model is the gate working, a green run with a reason, not a red failure."""

from typing import Any

import pandas as pd
from bodyfat_contract import DENSITY_COLUMNS, TARGET
from dagster import AssetCheckResult, AssetCheckSeverity, AssetIn, MetadataValue, asset_check

from bodyfat_assets.asset_keys import BODYFAT_SPLITS, CHAMPION, TUNED_MODEL
from bodyfat_assets.core.evaluation import ridge_baseline_rmse
from bodyfat_assets.core.health.fit import champion_fit
from bodyfat_assets.core.model_outputs import ChampionOutcome, TunedModel
from bodyfat_assets.core.promotion import GateFinding, baseline_finding, ceiling_finding, density_finding
from bodyfat_assets.core.splits import train_test_frames
from bodyfat_assets.health_monitor import HealthMonitor
from bodyfat_assets.resources import PipelineSettings

CHAMPION_FITS = "champion_fits_current_data"


def _result(finding: GateFinding, **metadata: Any) -> AssetCheckResult:
    return AssetCheckResult(passed=finding.passed, severity=AssetCheckSeverity.WARN,
                            description=finding.detail, metadata={**finding.figures, **metadata})


@asset_check(asset=TUNED_MODEL, description="Density (the target's source) is not a feature.")
def density_not_a_feature(tuned_model: TunedModel, pipeline: PipelineSettings) -> AssetCheckResult:
    finding = density_finding(tuned_model.features, pipeline.data.allow_density, DENSITY_COLUMNS)
    return _result(finding, features=MetadataValue.json(tuned_model.features),
                   allow_density=pipeline.data.allow_density)


@asset_check(asset=TUNED_MODEL, description="Test RMSE is under the configured ceiling.")
def rmse_below_ceiling(tuned_model: TunedModel, pipeline: PipelineSettings) -> AssetCheckResult:
    return _result(ceiling_finding(tuned_model.test_rmse, pipeline.promotion.rmse_ceiling))


@asset_check(asset=TUNED_MODEL, additional_ins={"bodyfat_splits": AssetIn(BODYFAT_SPLITS)},
             description="Test RMSE is no worse than a default ridge on the same split (within a tolerance).")
def beats_ridge_baseline(tuned_model: TunedModel, bodyfat_splits: pd.DataFrame,
                         pipeline: PipelineSettings) -> AssetCheckResult:
    train, test = train_test_frames(bodyfat_splits)
    baseline = ridge_baseline_rmse(train, test, tuned_model.features, TARGET.name)
    return _result(baseline_finding(tuned_model.test_rmse, baseline, pipeline.promotion.baseline_tolerance))


@asset_check(asset=CHAMPION, name=CHAMPION_FITS,
             description="WARN when the world has shifted and no challenger passes the gate: the last challenger "
                         "was blocked or rejected while the champion's RMSE on today's test split is above the "
                         "ceiling or the live-RMSE ratio × its RMSE at promotion.")
def champion_fits_current_data(champion: ChampionOutcome, pipeline: PipelineSettings,
                               health: HealthMonitor) -> AssetCheckResult:
    fit = champion_fit(champion.decision, champion.champion_version, champion.champion_rmse_now,
                       champion.champion_rmse_at_promotion, ceiling=pipeline.promotion.rmse_ceiling,
                       ratio=health.policy().rmse_ratio)
    return AssetCheckResult(passed=fit.fits, severity=AssetCheckSeverity.WARN, description=fit.detail,
                            metadata={**fit.figures, "last_decision": champion.decision})
