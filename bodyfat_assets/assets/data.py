"""raw (one partition per landed file) → cleaned (+ quarantine) → splits.

The rules live in `core` and `landing`; this module only wires and describes.
"""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetIn,
    AssetOut,
    ConfigurableResource,
    DynamicPartitionsDefinition,
    Failure,
    InputContext,
    MetadataValue,
    Output,
    asset,
    multi_asset,
)

from bodyfat_assets import landing as lz
from bodyfat_assets.core.cleaning import clean
from bodyfat_assets.core.schema import ROW_ID, TARGET
from bodyfat_assets.core.splits import SPLIT_COLUMN, stratified_split
from bodyfat_assets.io_manager import LakeIOManager
from bodyfat_assets.lake import ObjectStore, store_from_url
from bodyfat_assets.metadata import markdown_table
from bodyfat_assets.resources import PipelineSettings

DATA_GROUP = "data"
LABELED_FILES = DynamicPartitionsDefinition(name="labeled_files")
"""raw_bodyfat partitions: `seed` (data/bodyfat.csv) and one per accepted file from landing/train/."""
LANDING_NAME_TAG = "bodyfat/landing_name"
"""Run tag set by the landing sensor: the file's name in landing/<kind>/, so the run reads exactly that file."""


class LandingZone(ConfigurableResource):
    """The landing prefix of the lake, as an ObjectStore (local folder or S3: one code path)."""

    lake_url: str
    prefix: str = "landing"
    s3_endpoint_url: str | None = None

    @property
    def url(self) -> str:
        return f"{self.lake_url.rstrip('/')}/{self.prefix}"

    def store(self) -> ObjectStore:
        return store_from_url(self.url, self.s3_endpoint_url)

    def list_landed(self) -> list[lz.LandedObject]:
        """Objects waiting in train/ and score/, with an etag (S3's; size and mtime for a folder)."""
        store = self.store()
        listed: list[dict[str, Any]] = []
        if self.url.startswith("s3://"):
            from dagster_aws.s3.sensor import get_objects

            for kind in lz.KINDS:
                listed += get_objects(store.bucket, prefix=f"{store.prefix}/{kind}/".lstrip("/"),  # type: ignore[attr-defined]
                                      client=store.client)  # type: ignore[attr-defined]
            return lz.landed_from_listing(listed, store.prefix)  # type: ignore[attr-defined]
        root = Path(self.url.removeprefix("file://"))
        for kind in lz.KINDS:
            for key in store.list_keys(f"{kind}/"):
                # Size + modification time stand in for S3's etag: any rewrite changes them, and listing a waiting
                # backlog stays cheap (the content hash is computed only for new objects, by the sensor).
                stat = (root / key).stat()
                listed.append({"Key": key, "ETag": f"{stat.st_size}-{stat.st_mtime_ns}", "Size": stat.st_size})
        return lz.landed_from_listing(listed, "")


def read_partition_file(context: AssetExecutionContext, landing: LandingZone, kind: str,
                        seed_path: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The validated frame behind this run's partition, and where it came from. Moves a landed original to
    processed/ once read (copy, verify, delete); a re-materialization reads the processed copy."""
    key = context.partition_key
    if key == lz.SEED_PARTITION:
        data = Path(seed_path).read_bytes()
        return lz.read_landed_file(kind, Path(seed_path).name, data), {
            "file": str(seed_path), "sha256": lz.content_hash(data)}
    store = landing.store()
    file_key, already_processed = lz.locate_partition_file(store, kind, key, context.run.tags.get(LANDING_NAME_TAG))
    data = store.read_bytes(file_key)
    name = file_key.rsplit("/", 1)[-1]
    try:
        frame = lz.read_landed_file(kind, name, data)
    except lz.Reject as rejection:  # passed the sensor, fails now: the contract changed; never leave it in landing
        if not already_processed:
            verdict = lz.Verdict(lz.LandedObject(file_key, "", len(data)), "reject", code=rejection.code,
                                 detail=rejection.detail)
            lz.reject_object(store, verdict, data)
        raise Failure(f"{file_key}: {rejection}") from rejection
    location = file_key
    if not already_processed:
        location = lz.processed_key(kind, key, name)
        lz.move_object(store, file_key, location, data)
        context.log.info(f"moved {landing.url}/{file_key} to {landing.url}/{location}")
    return frame, {"file": f"{landing.url}/{location}", "landed_as": name, "sha256": lz.content_hash(data)}


@asset(group_name=DATA_GROUP, partitions_def=LABELED_FILES,
       description="Labeled rows as delivered, one partition per file: `seed` (data/bodyfat.csv) and every accepted "
                   "file from landing/train/. `source` is the partition key; `row_id` is 1-based within it.")
def raw_bodyfat(context: AssetExecutionContext, pipeline: PipelineSettings,
                landing: LandingZone) -> Output[pd.DataFrame]:
    frame, origin = read_partition_file(context, landing, lz.TRAIN, pipeline.seed_dataset)
    df = lz.raw_rows(frame, context.partition_key)
    return Output(df, metadata={
        "rows": len(df),
        "synthetic_rows": int(df[lz.SYNTHETIC].sum()),
        "columns": MetadataValue.json(list(df.columns)),
        "source_file": origin["file"],
        "sha256": origin["sha256"],
        "preview": markdown_table(df.head(5)),
    })


class IngestedPartitionsLoader(LakeIOManager):
    """Reads every *ingested* partition of an upstream asset. A partition registered by the sensor but whose run has
    not written it yet (or failed) is skipped and named in the log, so one slow or broken file never blocks a
    retrain; its own materialization triggers the next one."""

    def load_input(self, context: InputContext) -> Any:
        if not context.has_asset_partitions:
            return super().load_input(context)
        keys = list(context.asset_partition_keys)
        written = self.written_partitions(context)
        present = [k for k in keys if k in written]
        skipped = sorted(set(keys) - written)
        if skipped:
            context.log.warning(f"{context.asset_key.to_user_string()}: skipping partitions not materialized yet: "
                                f"{skipped}")
        if not present:
            raise Failure(f"no ingested partition of {context.asset_key.to_user_string()} yet: materialize its "
                          f"`{lz.SEED_PARTITION}` partition first (the landing sensor does it, or the demo)")
        return self.load_partition_frames(context, present)


@multi_asset(
    group_name=DATA_GROUP,
    ins={"raw_bodyfat": AssetIn(input_manager_key="ingested_partitions")},
    outs={
        "cleaned_bodyfat": AssetOut(description="Rows of every ingested file that passed every cleaning rule."),
        "quarantined_bodyfat": AssetOut(description="Rows held back, with the rules they broke and why."),
    },
)
def cleaned_bodyfat(context: AssetExecutionContext, raw_bodyfat: pd.DataFrame):  # noqa: ANN201 - two Outputs
    result = clean(raw_bodyfat)
    by_rule = result.quarantine["rules"].str.split(",").explode().value_counts().to_dict()
    context.log.info(f"{len(result.cleaned)} rows kept, {len(result.quarantine)} quarantined: {by_rule}")
    per_source = pd.DataFrame({
        "raw_rows": raw_bodyfat.groupby(lz.SOURCE).size(),
        "kept": result.cleaned.groupby(lz.SOURCE).size(),
        "quarantined": result.quarantine.groupby(lz.SOURCE).size(),
    }).fillna(0).astype(int).reset_index(names=lz.SOURCE)
    yield Output(result.cleaned, output_name="cleaned_bodyfat", metadata={
        "rows": len(result.cleaned),
        "quarantined_rows": len(result.quarantine),
        "sources": len(per_source),
        "synthetic_rows": int(result.cleaned.get(lz.SYNTHETIC, pd.Series(dtype=bool)).sum()),
        "rows_by_source": markdown_table(per_source),
    })
    yield Output(result.quarantine, output_name="quarantined_bodyfat", metadata={
        "rows": len(result.quarantine),
        "rows_by_rule": MetadataValue.json(by_rule),
        "quarantined": markdown_table(result.quarantine[[lz.SOURCE, ROW_ID, "reasons", "rules"]]),
    })


def split_rows(cleaned: pd.DataFrame, test_fraction: float, seed: int) -> pd.DataFrame:
    """Seed rows: the seeded, target-stratified split (unchanged by new files). Rows of landed files: a stable
    per-row hash, so every row keeps its side as data grows and the gate compares models on rows neither saw."""
    is_seed = cleaned[lz.SOURCE] == lz.SEED_PARTITION
    landed = cleaned[~is_seed].copy()
    landed[SPLIT_COLUMN] = lz.stable_test_mask(landed, test_fraction, seed).map({True: "test", False: "train"})
    parts = [stratified_split(cleaned[is_seed], test_fraction, seed)] if is_seed.any() else []
    return pd.concat([*parts, landed]).loc[cleaned.index]


@asset(group_name=DATA_GROUP, description="cleaned_bodyfat with a train/test label: seeded and target-stratified for "
                                          "the seed rows, a stable per-row hash for rows of landed files.")
def bodyfat_splits(cleaned_bodyfat: pd.DataFrame, pipeline: PipelineSettings) -> Output[pd.DataFrame]:
    splits = split_rows(cleaned_bodyfat, pipeline.test_fraction, pipeline.split_seed)
    by_source = splits.groupby([lz.SOURCE, SPLIT_COLUMN]).size().unstack(fill_value=0).reset_index()
    summary = splits.groupby(SPLIT_COLUMN)[TARGET.name].describe()[["count", "mean", "std", "min", "max"]]
    return Output(splits, metadata={
        "train_rows": int((splits[SPLIT_COLUMN] == "train").sum()),
        "test_rows": int((splits[SPLIT_COLUMN] == "test").sum()),
        "test_fraction": pipeline.test_fraction,
        "seed": pipeline.split_seed,
        "body_fat_by_split": markdown_table(summary.reset_index()),
        "rows_by_source": markdown_table(by_source),
    })
