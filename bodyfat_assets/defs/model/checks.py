"""Blocking checks before a model can reach `champion`: no Density, under the RMSE ceiling, no worse than ridge."""

from typing import Any

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, AssetIn, MetadataValue, asset_check

from bodyfat_assets.core.evaluation import ridge_baseline_rmse
from bodyfat_assets.core.schema import DENSITY, TARGET
from bodyfat_assets.core.splits import train_test_frames
from bodyfat_assets.resources import PipelineSettings


@asset_check(asset="tuned_model", blocking=True, description="Density (the target's source) is not a feature.")
def density_not_a_feature(tuned_model: dict[str, Any], pipeline: PipelineSettings) -> AssetCheckResult:
    uses_density = DENSITY.name in tuned_model["features"]
    return AssetCheckResult(
        passed=not uses_density or pipeline.allow_density,
        metadata={"features": MetadataValue.json(tuned_model["features"]), "allow_density": pipeline.allow_density},
    )


@asset_check(asset="tuned_model", blocking=True, description="Test RMSE is under the configured ceiling.")
def rmse_below_ceiling(tuned_model: dict[str, Any], pipeline: PipelineSettings) -> AssetCheckResult:
    return AssetCheckResult(
        passed=tuned_model["test_rmse"] <= pipeline.rmse_ceiling,
        severity=AssetCheckSeverity.ERROR,
        metadata={"test_rmse": tuned_model["test_rmse"], "ceiling": pipeline.rmse_ceiling},
    )


@asset_check(asset="tuned_model", blocking=True, additional_ins={"bodyfat_splits": AssetIn()},
             description="Test RMSE is no worse than a default ridge on the same split (within a tolerance).")
def beats_ridge_baseline(tuned_model: dict[str, Any], bodyfat_splits: pd.DataFrame,
                         pipeline: PipelineSettings) -> AssetCheckResult:
    train, test = train_test_frames(bodyfat_splits)
    baseline = ridge_baseline_rmse(train, test, tuned_model["features"], TARGET.name)
    limit = baseline * (1 + pipeline.baseline_tolerance)
    return AssetCheckResult(
        passed=tuned_model["test_rmse"] <= limit,
        metadata={"test_rmse": tuned_model["test_rmse"], "ridge_baseline_rmse": baseline, "limit": limit},
    )


