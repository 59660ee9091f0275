"""raw → cleaned (+ quarantine) → splits. The rules live in `core`; this module only wires and describes."""


import hashlib
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetOut, MetadataValue, Output, asset, multi_asset

from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.schema import ROW_ID, TARGET
from bodyfat_assets.core.splits import SPLIT_COLUMN, stratified_split
from bodyfat_assets.metadata import markdown_table
from bodyfat_assets.resources import PipelineSettings

DATA_GROUP = "data"


@asset(group_name=DATA_GROUP, description="The measurements as delivered, with a 1-based row_id.")
def raw_bodyfat(pipeline: PipelineSettings) -> Output[pd.DataFrame]:
    path = Path(pipeline.seed_dataset)
    df = pd.read_csv(path)
    df.insert(0, ROW_ID, range(1, len(df) + 1))
    return Output(df, metadata={
        "rows": len(df),
        "columns": MetadataValue.json(list(df.columns)),
        "source": str(path.name),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "preview": markdown_table(df.head(5)),
    })


@multi_asset(
    group_name=DATA_GROUP,
    outs={
        "cleaned_bodyfat": AssetOut(description="Rows that passed every cleaning rule."),
        "quarantined_bodyfat": AssetOut(description="Rows held back, with the rules they broke and why."),
    },
)
def cleaned_bodyfat(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame):  # noqa: ANN201 - two Outputs
    result = clean(raw_bodyfat)
    by_rule = result.quarantine["rules"].str.split(",").explode().value_counts().to_dict()
    context.log.info(f"{len(result.cleaned)} rows kept, {len(result.quarantine)} quarantined: {by_rule}")
    yield Output(result.cleaned, output_name="cleaned_bodyfat", metadata={
        "rows": len(result.cleaned),
        "quarantined_rows": len(result.quarantine),
    })
    yield Output(result.quarantine, output_name="quarantined_bodyfat", metadata={
        "rows": len(result.quarantine),
        "rows_by_rule": MetadataValue.json(by_rule),
        "quarantined": markdown_table(result.quarantine[[ROW_ID, "rules", "reasons"]]),
    })


@asset(group_name=DATA_GROUP, description="cleaned_bodyfat with a seeded, target-stratified train/test label.")
def bodyfat_splits(cleaned_bodyfat: pd.DataFrame, pipeline: PipelineSettings) -> Output[pd.DataFrame]:
    splits = stratified_split(cleaned_bodyfat, pipeline.test_fraction, pipeline.split_seed)
    summary = splits.groupby(SPLIT_COLUMN)[TARGET.name].describe()[["count", "mean", "std", "min", "max"]]
    return Output(splits, metadata={
        "train_rows": int((splits[SPLIT_COLUMN] == "train").sum()),
        "test_rows": int((splits[SPLIT_COLUMN] == "test").sum()),
        "test_fraction": pipeline.test_fraction,
        "seed": pipeline.split_seed,
        "body_fat_by_split": markdown_table(summary.reset_index()),
    })
