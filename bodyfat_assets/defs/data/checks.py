"""Data quality on the way in: raw schema per file, cleaned rows complete and in range, known anomalies caught,
train and test disjoint and no test row copied into training."""



from pathlib import Path

import pandas as pd
from bodyfat_contract import RAW_COLUMNS, ROW_ID
from dagster import AssetCheckResult, AssetIn, MetadataValue, asset_check

from bodyfat_assets.core.cleaning import REQUIRED_COLUMNS, SOURCE
from bodyfat_assets.core.contract_checks import violations
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.near_duplicates import NEAR_DUPLICATE_BODYFAT, NEAR_DUPLICATE_LOG_RMS, near_duplicate_pairs
from bodyfat_assets.core.splits import SPLIT_COLUMN, train_test_frames
from bodyfat_assets.metadata import table
from bodyfat_assets.partitions import LABELED_FILES
from bodyfat_assets.resources import PipelineSettings
from bodyfat_assets.settings import BODYFAT_CSV

KNOWN_ANOMALIES: dict[int, str] = {31: "out_of_range", 42: "impossible", 48: "siri_mismatch", 76: "siri_mismatch",
                                   86: "out_of_range", 96: "siri_mismatch", 182: "siri_mismatch"}
"""data/bodyfat.csv's rows documented as bad (data/README.md), with a rule that must catch each. Row ids are per
source: these apply to source `seed` only, and only while the seed is that file (another seed names none)."""


def known_anomalies(seed_dataset: str | Path) -> dict[int, str]:
    """The documented bad rows of `seed_dataset`: KNOWN_ANOMALIES for the body-fat seed, none for another file."""
    return KNOWN_ANOMALIES if Path(seed_dataset) == BODYFAT_CSV else {}


@asset_check(asset="raw_bodyfat", blocking=True, partitions_def=LABELED_FILES,
             description="Every expected column is present and numeric; (source, row_id) is unique. Per file: "
                         "checks the partition just ingested, not every partition again.")
def raw_schema(raw_bodyfat: pd.DataFrame) -> AssetCheckResult:
    missing = [c for c in (SOURCE, ROW_ID, *RAW_COLUMNS) if c not in raw_bodyfat.columns]
    non_numeric = [c for c in RAW_COLUMNS if c in raw_bodyfat and not pd.api.types.is_numeric_dtype(raw_bodyfat[c])]
    repeated_ids = int(raw_bodyfat.duplicated([SOURCE, ROW_ID]).sum()) if not missing else 0
    return AssetCheckResult(
        passed=not missing and not non_numeric and not repeated_ids,
        metadata={"missing_columns": MetadataValue.json(missing),
                  "non_numeric_columns": MetadataValue.json(non_numeric),
                  "repeated_row_ids": repeated_ids,
                  "sources": MetadataValue.json([] if missing else sorted(raw_bodyfat[SOURCE].astype(str).unique())),
                  "dtypes": MetadataValue.json({c: str(t) for c, t in raw_bodyfat.dtypes.items()})},
    )


@asset_check(asset="cleaned_bodyfat", blocking=True, description="No nulls in the target or any predictor.")
def cleaned_no_nulls(cleaned_bodyfat: pd.DataFrame) -> AssetCheckResult:
    nulls = {c: int(n) for c, n in cleaned_bodyfat[list(REQUIRED_COLUMNS)].isna().sum().items() if n}
    return AssetCheckResult(passed=not nulls, metadata={"null_counts": MetadataValue.json(nulls)})


@asset_check(asset="cleaned_bodyfat", blocking=True,
             description="Every value lies in its feature-contract range (bodyfat_contract).")
def cleaned_in_range(cleaned_bodyfat: pd.DataFrame) -> AssetCheckResult:
    flags = violations(cleaned_bodyfat, REQUIRED_COLUMNS)
    counts = {column: int(n) for column, n in flags.sum().items() if n}
    return AssetCheckResult(passed=not counts, metadata={"out_of_range": MetadataValue.json(counts)})


@asset_check(asset="cleaned_bodyfat", additional_ins={"quarantined_bodyfat": AssetIn()},
             description="The seed dataset's documented bad rows (data/bodyfat.csv: source `seed`, rows 31, 42, 48, "
                         "76, 86, 96, 182) are all quarantined; another seed file (BODYFAT_SEED_DATASET) documents "
                         "none.")
def known_anomalies_quarantined(cleaned_bodyfat: pd.DataFrame, quarantined_bodyfat: pd.DataFrame,
                                pipeline: PipelineSettings) -> AssetCheckResult:
    known = known_anomalies(pipeline.data.seed_dataset)
    seed_quarantine = quarantined_bodyfat[quarantined_bodyfat[SOURCE] == SEED_PARTITION]
    seed_cleaned = cleaned_bodyfat[cleaned_bodyfat[SOURCE] == SEED_PARTITION]
    rules = dict(zip(seed_quarantine[ROW_ID], seed_quarantine["rules"], strict=True))
    missed = [row for row, rule in known.items() if rule not in rules.get(row, "").split(",")]
    leaked = sorted(set(known) & set(seed_cleaned[ROW_ID]))
    return AssetCheckResult(
        passed=not missed and not leaked,
        metadata={"missed": MetadataValue.json(missed), "still_in_cleaned": MetadataValue.json(leaked),
                  "caught": MetadataValue.json({str(r): rules.get(r, "") for r in known}),
                  "seed_dataset": str(pipeline.data.seed_dataset)},
    )


@asset_check(asset="bodyfat_splits", blocking=True, description="Train and test are disjoint and cover the data.")
def splits_disjoint(bodyfat_splits: pd.DataFrame) -> AssetCheckResult:
    train, test = train_test_frames(bodyfat_splits)
    identity = [SOURCE, ROW_ID]  # row ids repeat across sources; the pair is the row
    overlap = sorted(set(train[identity].itertuples(index=False, name=None))
                     & set(test[identity].itertuples(index=False, name=None)))
    unlabelled = int((~bodyfat_splits[SPLIT_COLUMN].isin(["train", "test"])).sum())
    return AssetCheckResult(
        passed=not overlap and unlabelled == 0 and len(test) > 0 and len(train) > 0,
        metadata={"train_rows": len(train), "test_rows": len(test),
                  "overlap": MetadataValue.json([f"{src}:{row}" for src, row in overlap[:20]])},
    )


@asset_check(asset="bodyfat_splits", blocking=True,
             description="No test row has a near-duplicate in training (within the synthetic feed's jitter: RMS of "
                         f"log-feature differences <= {NEAR_DUPLICATE_LOG_RMS:g}, BodyFat within "
                         f"{NEAR_DUPLICATE_BODYFAT:g} points): a copy would let a memorising model pass the gate.")
def splits_no_near_duplicates(bodyfat_splits: pd.DataFrame) -> AssetCheckResult:
    train, test = train_test_frames(bodyfat_splits)
    pairs = near_duplicate_pairs(test, train)
    named = pd.DataFrame({
        "test_row": [f"{test.at[i, SOURCE]}:{test.at[i, ROW_ID]}" for i in pairs["test_index"]],
        "train_row": [f"{train.at[i, SOURCE]}:{train.at[i, ROW_ID]}" for i in pairs["train_index"]],
        "log_rms": pairs["log_rms"], "bodyfat_difference": pairs["bodyfat_difference"]})
    return AssetCheckResult(
        passed=pairs.empty,
        metadata={"near_duplicate_pairs": len(pairs),
                  "test_rows_with_a_copy_in_train": int(pairs["test_index"].nunique()),
                  "pairs": table(named)},
    )
