"""The landing zone as a Dagster resource, and reading the file behind a run's partition (moved to processed/)."""

from pathlib import Path
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, ConfigurableResource, Failure

from bodyfat_assets import landing as lz
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




class RetrainPolicy(ConfigurableResource):
    """When new rows justify a retrain (read by retrain_sensor at every tick)."""

    min_rows: int
    min_interval_s: int
