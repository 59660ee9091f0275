"""One IO manager for the lake: DataFrames as Parquet, small records (model summaries) as JSON. A record the reading
asset declares as a pydantic model (core/model_outputs.py) is validated back into that model.

Keys are `<asset path>.parquet`, or `<asset path>/<partition>.parquet` for partitioned assets (`Lake.key_for`).
The lake is a folder on the embedded default, `s3://bucket/prefix` in production; `lake.py` handles the difference.
"""


import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import ConfigurableIOManager, DagsterInvariantViolationError, Failure, InputContext, OutputContext
from pydantic import BaseModel

from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.lake import Lake, ObjectStore, frame_to_parquet, parquet_to_frame


@dataclass(frozen=True)
class PartitionFrames:
    """The output of a partitioned asset for every partition its run materializes: one DataFrame each, written to
    `<asset>/<partition>.parquet` as if each had had its own run."""

    frames: Mapping[str, pd.DataFrame]


class LakeIOManager(ConfigurableIOManager):
    lake: LakeGroup

    @property
    def store(self) -> ObjectStore:
        return self.lake.build().store

    @staticmethod
    def _stem(context: OutputContext | InputContext, partition_key: str | None = None) -> str:
        return Lake.stem_for(context.asset_key.path, partition_key)

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if isinstance(obj, PartitionFrames):
            return self.write_partition_frames(context, obj)
        partition = context.partition_key if context.has_partition_key else None
        stem = self._stem(context, partition)
        if isinstance(obj, pd.DataFrame):
            key, data = f"{stem}.parquet", frame_to_parquet(obj)
        elif isinstance(obj, BaseModel):
            key, data = f"{stem}.json", obj.model_dump_json(indent=2).encode()
        else:
            key, data = f"{stem}.json", json.dumps(obj, indent=2, default=str).encode()
        self.store.write_bytes(key, data)
        context.add_output_metadata({"uri": f"{self.store.url}/{key}", "bytes": len(data)})

    def write_partition_frames(self, context: OutputContext, output: PartitionFrames) -> None:
        """One Parquet object per partition of a run that materializes several (a burst of landed files)."""
        targeted = set(context.asset_partition_keys) if context.has_asset_partitions else set()
        if set(output.frames) != targeted:
            raise ValueError(f"{context.asset_key.to_user_string()}: frames for partitions {sorted(output.frames)}, "
                             f"but the run materializes {sorted(targeted)}")
        written, keys = 0, []
        for key, frame in output.frames.items():
            data = frame_to_parquet(frame)
            keys.append(f"{self._stem(context, key)}.parquet")
            self.store.write_bytes(keys[-1], data)
            written += len(data)
        where = keys[0] if len(keys) == 1 else f"{self._stem(context)}/"
        context.add_output_metadata({"uri": f"{self.store.url}/{where}", "bytes": written})

    def load_input(self, context: InputContext) -> Any:
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            return self.load_partition_frames(context, list(context.asset_partition_keys))
        partition = context.asset_partition_key if context.has_asset_partitions else None
        loaded = self._load(self._stem(context, partition))
        declared = _declared_type(context)
        if isinstance(declared, type) and issubclass(declared, BaseModel):
            return declared.model_validate(loaded)
        return loaded

    def load_partition_frames(self, context: InputContext, keys: list[str]) -> pd.DataFrame:
        """Several partitions of a DataFrame asset, concatenated in the order given."""
        frames = [parquet_to_frame(self.store.read_bytes(f"{self._stem(context, key)}.parquet")) for key in keys]
        return pd.concat(frames, ignore_index=True)

    def written_partitions(self, context: InputContext) -> set[str]:
        """Partition keys of the upstream asset with a Parquet object in the lake: one listing, not a request per
        partition (retraining reads every landed file, so this grows with the data)."""
        prefix = f"{self._stem(context)}/"
        return {key.removeprefix(prefix).removesuffix(".parquet") for key in self.store.list_keys(prefix)
                if key.endswith(".parquet")}

    def _load(self, stem: str) -> Any:
        if self.store.exists(f"{stem}.parquet"):
            return parquet_to_frame(self.store.read_bytes(f"{stem}.parquet"))
        return json.loads(self.store.read_bytes(f"{stem}.json"))


class IngestedPartitionsLoader(LakeIOManager):
    """Reads every *ingested* partition of an upstream asset. A partition registered by the sensor but whose run has
    not written it yet (or failed) is skipped and named in the log, so one slow or broken file never blocks a
    retrain; its own materialization triggers the next one. A partition that *was* materialized but whose data is
    gone from the lake fails the run, naming it: training without it went green on 0 of the 252 seed rows.

    `optional`: for an asset only some partitions ever have (withdrawals): none written is an empty frame, and
    the partitions without one are not worth a warning."""

    optional: bool = False

    def load_input(self, context: InputContext) -> Any:
        if not context.has_asset_partitions:
            return super().load_input(context)
        asset = context.asset_key.to_user_string()
        keys = list(context.asset_partition_keys)
        written = self.written_partitions(context)
        lost = sorted(set(keys) & context.instance.get_materialized_partitions(context.asset_key) - written)
        if lost:
            raise Failure(f"{asset}: partitions {lost} were materialized but their data is missing from "
                          f"{self.store.url}/{self._stem(context)}/: restore it, or re-materialize those partitions "
                          f"(Dagster UI → Assets → {asset} → Materialize)", allow_retries=False)
        present = [k for k in keys if k in written]
        if self.optional:
            return self.load_partition_frames(context, present) if present else pd.DataFrame()
        skipped = sorted(set(keys) - written)
        if skipped:
            context.log.warning(f"{asset}: skipping partitions not materialized yet: {skipped}")
        if not present:
            raise Failure(f"no ingested partition of {asset} yet: materialize its `{SEED_PARTITION}` partition first "
                          f"(the landing sensor does it, or the demo)", allow_retries=False)
        return self.load_partition_frames(context, present)


PREDICTIONS_PREFIX = "predictions"


@dataclass(frozen=True)
class StagedParquet:
    """A complete Parquet file written locally by a streamed run: the IO manager publishes it as the output in one
    step (`ObjectStore.put_file`), so an output of any size never passes through memory and a failed run never
    replaces the previous one."""

    path: Path


class PredictionsIOManager(LakeIOManager):
    """The lake IO manager with predictions at `predictions/<partition>.parquet`: the folder consumers read."""

    @staticmethod
    def _stem(context: OutputContext | InputContext, partition_key: str | None = None) -> str:
        return f"{PREDICTIONS_PREFIX}/{partition_key or 'latest'}"

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if not isinstance(obj, StagedParquet):
            return super().handle_output(context, obj)
        key = f"{self._stem(context, context.partition_key if context.has_partition_key else None)}.parquet"
        self.store.put_file(key, obj.path)
        context.add_output_metadata({"uri": f"{self.store.url}/{key}", "bytes": obj.path.stat().st_size})


def _declared_type(context: InputContext) -> Any:
    """The reader's declared Python type; None for a context built without one (a load outside a step, e.g. a script
    or `build_input_context`), which then gets the stored value as read."""
    try:
        return context.dagster_type.typing_type
    except DagsterInvariantViolationError:  # InputContext has no public "has a type" question
        return None
