"""The landing zone as Dagster resources, and the file behind a run's partition read inside an asset."""

from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, ConfigurableResource, Failure

from bodyfat_assets.core.landing.partition_file import load_partition_file
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.lake import ObjectStore, store_from_url
from bodyfat_assets.partitions import LANDING_NAME_TAG


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


def read_partition_file(context: AssetExecutionContext, landing: LandingZone, kind: str,
                        seed_path: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The validated frame behind this run's partition, and where it came from (see `load_partition_file`)."""
    try:
        loaded = load_partition_file(landing.store(), kind, context.partition_key,
                                     context.run.tags.get(LANDING_NAME_TAG), seed_path)
    except Reject as rejection:  # passed the sensor, fails now: the contract changed; moved to rejected/
        raise Failure(f"{kind} partition {context.partition_key}: {rejection}") from rejection
    if loaded.moved_from:
        context.log.info(f"moved {loaded.moved_from} to {loaded.location}")
    return loaded.frame, {"file": loaded.location, "sha256": loaded.sha256}


class RetrainPolicy(ConfigurableResource):
    """When new rows justify a retrain (read by retrain_sensor at every tick)."""

    min_rows: int
    min_interval_s: int
