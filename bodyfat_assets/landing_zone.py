"""The landing zone as Dagster resources, and the file behind a run's partition read inside an asset."""

from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AssetRecordsFilter, ConfigurableResource, Failure

from bodyfat_assets.core.landing.intake import MIN_FILE_AGE_S
from bodyfat_assets.core.landing.partition_file import PartitionFileGone, load_partition_file
from bodyfat_assets.core.landing.requeue import RequeuePolicy
from bodyfat_assets.core.landing.validation import Reject
from bodyfat_assets.group_config import LakeGroup, LandingGroup
from bodyfat_assets.lake import ObjectStore
from bodyfat_assets.partitions import landed_files
from bodyfat_assets.settings import LandingSettings


class LandingZone(ConfigurableResource):
    """The landing prefix of the lake, as an ObjectStore (local folder or S3: one code path)."""

    lake: LakeGroup
    landing: LandingGroup = LandingGroup.of(LandingSettings())
    min_file_age_s: float = MIN_FILE_AGE_S
    """A local file is taken once its last change is this old (see `MIN_FILE_AGE_S`)."""

    def requeue_policy(self) -> RequeuePolicy:
        return self.landing.build().requeue_policy()

    @property
    def url(self) -> str:
        return self.lake.build().landing_url

    def store(self) -> ObjectStore:
        return self.lake.build().landing_store


def read_partition_file(context: AssetExecutionContext, landing: LandingZone, kind: str, key: str,
                        seed_path: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The validated frame behind partition `key` of this run, and where it came from (see `load_partition_file`).

    A partition never materialized whose file changed or vanished after it was accepted fails its run, saying so;
    the landing sensor then deletes the partition (`gone_partitions`), so nothing requests it again (a re-scoring
    after each promotion did, for ever), and registers the file's new content as a new partition."""
    try:
        loaded = load_partition_file(landing.store(), kind, key, landed_files(context.run.tags).get(key), seed_path)
    except Reject as rejection:  # passed the sensor, fails now: the contract changed; moved to rejected/
        raise Failure(f"{kind} partition {key}: {rejection}", allow_retries=False) from rejection
    except PartitionFileGone as gone:
        if first_materialized_at(context, key) is not None:
            raise
        raise file_gone(key, gone) from gone
    if loaded.moved_from:
        context.log.info(f"moved {loaded.moved_from} to {loaded.location}")
    return loaded.frame, {"file": loaded.location, "sha256": loaded.sha256}


def first_materialized_at(context: AssetExecutionContext, key: str) -> float | None:
    """When partition `key` of this run's asset was first materialized (seconds since the epoch), None if never."""
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[key]), limit=1,
        ascending=True).records
    return records[0].timestamp if records else None


def file_gone(key: str, gone: PartitionFileGone) -> Failure:
    """The failure of a run whose never-materialized partition's file is gone (retrying cannot bring it back)."""
    return Failure(f"{gone}; the landing sensor deletes partition {key} and registers the file's current content, "
                   f"if any, as a new partition", allow_retries=False)


class RetrainPolicy(ConfigurableResource):
    """When new rows justify a retrain (read by retrain_sensor at every tick)."""

    landing: LandingGroup
