"""raw (one partition per landed file) → cleaned (+ quarantine) → splits; withdrawn_labels takes a file back.

The rules live in `core` (`core/landing/` for landed files); this module only wires and describes.
"""

from datetime import UTC, datetime

import pandas as pd
from bodyfat_contract import RAW_COLUMNS, ROW_ID, TARGET
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    BackfillPolicy,
    Config,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from bodyfat_assets.asset_keys import (
    BODYFAT_SPLITS,
    CLEANED_BODYFAT,
    LIVE_PERFORMANCE,
    QUARANTINED_BODYFAT,
    RAW_BODYFAT,
    WITHDRAWN_LABELS,
)
from bodyfat_assets.core.cleaning import SOURCE, clean
from bodyfat_assets.core.landing.naming import TRAIN
from bodyfat_assets.core.landing.rows import raw_rows
from bodyfat_assets.core.landing.validation import ORIGIN, SYNTHETIC
from bodyfat_assets.core.splits import SPLIT_COLUMN, split_rows
from bodyfat_assets.core.withdrawal import withdrawal_record, withdrawn_sources
from bodyfat_assets.io_manager import PartitionFrames
from bodyfat_assets.landing_zone import LandingZone, read_partition_file
from bodyfat_assets.metadata import contract_column_schema, table
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.resources import PipelineSettings

DATA_GROUP = "data"
PARTITIONS_READ = "partitions_read"
OPERATOR_ONLY_TAG = "bodyfat/operator_only"
"""On an asset no sensor or automation materializes: only an operator's deliberate act (a withdrawal)."""


# The feature contract, shown as each asset's column schema in the Dagster UI.
RAW_SCHEMA = {"dagster/column_schema": contract_column_schema([SOURCE, ROW_ID, *RAW_COLUMNS, SYNTHETIC, ORIGIN])}
CLEANED_SCHEMA = {"dagster/column_schema": contract_column_schema([SOURCE, ROW_ID, *RAW_COLUMNS])}


@asset(key=RAW_BODYFAT, group_name=DATA_GROUP, partitions_def=LABELED_FILES, metadata=RAW_SCHEMA,
       backfill_policy=BackfillPolicy.single_run(),
       description="Labeled rows as delivered, one partition per file: `seed` (BODYFAT_SEED_DATASET, by default "
                   "data/bodyfat.csv) and every accepted file from landing/train/. `source` is the partition key; "
                   "`row_id` is 1-based within it. Files landed together are ingested in one run, each its own "
                   "partition with its own metadata.")
def raw_bodyfat(context: AssetExecutionContext, pipeline: PipelineSettings,
                landing: LandingZone) -> PartitionFrames:
    frames = {}
    for key in context.partition_keys:
        frame, origin = read_partition_file(context, landing, TRAIN, key, pipeline.data.seed_dataset)
        frames[key] = df = raw_rows(frame, key)
        context.add_asset_metadata({
            "rows": len(df),
            "synthetic_rows": int(df[SYNTHETIC].sum()),
            "columns": MetadataValue.json(list(df.columns)),
            "source_file": origin["file"],
            "sha256": origin["sha256"],
            "preview": table(df.head(5)),
        }, partition_key=key)
    return PartitionFrames(frames)


class WithdrawalConfig(Config):
    reason: str
    """Why the file is taken back: shown beside each of its rows in quarantined_bodyfat."""


@asset(key=WITHDRAWN_LABELS, group_name=DATA_GROUP, partitions_def=LABELED_FILES,
       tags={OPERATOR_ONLY_TAG: "true"},
       description="Labeled files taken back by an operator (`bodyfat withdraw`, or the withdraw_labeled_file job "
                   "with a `reason`): the next retrain quarantines every row of such a file under the rule "
                   "`withdrawn`. raw_bodyfat keeps the file for audit.")
def withdrawn_labels(context: AssetExecutionContext, config: WithdrawalConfig) -> Output[pd.DataFrame]:
    known = context.instance.get_dynamic_partitions(LABELED_FILES.name)
    record = withdrawal_record(context.partition_key, config.reason, known, datetime.now(UTC))
    context.log.info(f"{context.partition_key} withdrawn: {config.reason}; the next retrain leaves its rows out")
    return Output(record, metadata={"reason": config.reason, "withdrawn_at": record["withdrawn_at"].iloc[0]})


@multi_asset(
    group_name=DATA_GROUP,
    ins={"raw_bodyfat": AssetIn(RAW_BODYFAT, input_manager_key="ingested_partitions"),
         "live_performance": AssetIn(LIVE_PERFORMANCE, input_manager_key="ingested_partitions"),
         "withdrawn_labels": AssetIn(WITHDRAWN_LABELS, input_manager_key="withdrawals")},
    outs={
        "cleaned_bodyfat": AssetOut(key=CLEANED_BODYFAT, metadata=CLEANED_SCHEMA,
                                    description="Rows of every ingested file that passed every cleaning rule."),
        "quarantined_bodyfat": AssetOut(key=QUARANTINED_BODYFAT,
                                        description="Rows held back, with the rules they broke and why."),
    },
)
def cleaned_bodyfat(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame,  # noqa: ANN201 - two Outputs
                    live_performance: pd.DataFrame, withdrawn_labels: pd.DataFrame):
    # Files whose labels the champion found suspect are held back for review (core/health/evidence.py), files an
    # operator withdrew likewise (core/withdrawal.py).
    suspect = live_performance.loc[live_performance["suspect_labels"] != "", ["source", "suspect_labels"]]
    result = clean(raw_bodyfat, dict(zip(suspect["source"], suspect["suspect_labels"], strict=True)),
                   withdrawn_sources(withdrawn_labels))
    by_rule = result.quarantine["rules"].str.split(",").explode().value_counts().to_dict()
    context.log.info(f"{len(result.cleaned)} rows kept, {len(result.quarantine)} quarantined: {by_rule}")
    per_source = pd.DataFrame({
        "raw_rows": raw_bodyfat.groupby(SOURCE).size(),
        "kept": result.cleaned.groupby(SOURCE).size(),
        "quarantined": result.quarantine.groupby(SOURCE).size(),
    }).fillna(0).astype(int).reset_index(names=SOURCE)
    yield Output(result.cleaned, output_name="cleaned_bodyfat", metadata={
        "rows": len(result.cleaned),
        "quarantined_rows": len(result.quarantine),
        "sources": len(per_source),
        # Every raw partition this run read: the retrain sensor counts a file as seen by the run that read it.
        PARTITIONS_READ: MetadataValue.json(sorted(map(str, raw_bodyfat[SOURCE].unique()))),
        "synthetic_rows": int(result.cleaned.get(SYNTHETIC, pd.Series(dtype=bool)).sum()),
        "rows_by_source": table(per_source),
    })
    yield Output(result.quarantine, output_name="quarantined_bodyfat", metadata={
        "rows": len(result.quarantine),
        "rows_by_rule": MetadataValue.json(by_rule),
        "quarantined": table(result.quarantine[[SOURCE, ROW_ID, "reasons", "rules"]]),
    })


@asset(key=BODYFAT_SPLITS, group_name=DATA_GROUP,
       description="cleaned_bodyfat with a train/test label: seeded and target-stratified for the seed rows; rows of "
                   "landed files by near-duplicate group (repeated measurements of one man share a side), each group "
                   "by a stable hash.")
def bodyfat_splits(cleaned_bodyfat: pd.DataFrame, pipeline: PipelineSettings) -> Output[pd.DataFrame]:
    splits = split_rows(cleaned_bodyfat, pipeline.data.test_fraction, pipeline.data.split_seed)
    by_source = splits.groupby([SOURCE, SPLIT_COLUMN]).size().unstack(fill_value=0).reset_index()
    summary = splits.groupby(SPLIT_COLUMN)[TARGET.name].describe()[["count", "mean", "std", "min", "max"]]
    return Output(splits, metadata={
        "train_rows": int((splits[SPLIT_COLUMN] == "train").sum()),
        "test_rows": int((splits[SPLIT_COLUMN] == "test").sum()),
        "test_fraction": pipeline.data.test_fraction,
        "seed": pipeline.data.split_seed,
        "body_fat_by_split": table(summary.reset_index()),
        "rows_by_source": table(by_source),
    })
