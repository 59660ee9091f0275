"""The landing and retrain sensors evaluated in-process, as the daemon would, on a temporary lake and an ephemeral
Dagster instance."""

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DeleteDynamicPartitionsRequest,
    RunRequest,
    SensorResult,
    build_sensor_context,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData

from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.data.assets import PARTITIONS_READ
from bodyfat_assets.defs.jobs import PIPELINE_JOB
from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.lake import LocalStore
from bodyfat_assets.landing_zone import LandingZone
from bodyfat_assets.partitions import LABELED_FILES, LABELS_FILES, SCORING_FILES
from bodyfat_assets.settings import Settings


class Harness:
    """One sensor, one instance, one lake: `tick()` evaluates like the daemon would and applies the partitions."""

    def __init__(self, tmp_path, min_file_age_s: float = 0.0, **env: str) -> None:
        """`min_file_age_s=0`: files written with `land` (atomically) are whole at once; the tests of half-written
        files pass the production default."""
        self.settings = Settings.from_env({"BODYFAT_HOME": str(tmp_path), **env})
        self.defs = build_definitions(self.settings)
        self.instance = DagsterInstance.ephemeral()
        self.landing = LandingZone(lake=LakeGroup.of(self.settings.lake), min_file_age_s=min_file_age_s)
        self.store = LocalStore(f"{self.settings.lake_url}/landing")
        self.cursors: dict[str, str | None] = {}

    def tick(self, name: str = "landing_sensor"):
        context = build_sensor_context(instance=self.instance, cursor=self.cursors.get(name),
                                       definitions=self.defs,
                                       resources={"landing": self.landing,
                                                  "retrain_policy": self.defs.resources["retrain_policy"]})
        result = self.defs.resolve_sensor_def(name)(context)
        if isinstance(result, SensorResult):
            self.cursors[name] = result.cursor
            for request in result.dynamic_partitions_requests or []:
                if isinstance(request, DeleteDynamicPartitionsRequest):
                    for key in request.partition_keys:
                        self.instance.delete_dynamic_partition(request.partitions_def_name, key)
                else:
                    self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def queue(self, request: RunRequest) -> None:
        """Record the run the daemon creates for `request`, not started (a queued run needs a code location)."""
        partition = {"dagster/partition": request.partition_key} if request.partition_key else {}
        self.instance.create_run_for_job(self.defs.resolve_job_def(request.job_name),
                                         status=DagsterRunStatus.NOT_STARTED, tags={**request.tags, **partition})

    def land(self, key: str, data: bytes) -> None:
        self.store.write_bytes(key, data)

    def partitions(self, kind: str) -> list[str]:
        return list(self.instance.get_dynamic_partitions(
            {"train": LABELED_FILES, "score": SCORING_FILES, "labels": LABELS_FILES}[kind].name))

    def ingested(self, partition: str, rows: int, **live_metadata: str) -> None:
        """What an ingestion run records: a raw_bodyfat partition and (when given) its live_performance."""
        self.instance.report_runless_asset_event(AssetMaterialization(AssetKey("raw_bodyfat"), partition=partition,
                                                                      metadata={"rows": rows}))
        if live_metadata:
            self.instance.report_runless_asset_event(AssetMaterialization(AssetKey("live_performance"),
                                                                          partition=partition, metadata=live_metadata))

    def retraining_run(self, status: DagsterRunStatus = DagsterRunStatus.NOT_STARTED,
                       read: list[str] | None = None, tags: dict[str, str] | None = None,
                       retry_of: DagsterRun | None = None) -> DagsterRun:
        """A retraining run as the daemon records it; `read`: the raw partitions its cleaning step read (recorded
        as cleaned_bodyfat's `partitions_read`, as the asset does); `retry_of`: the run it re-executes."""
        lineage = {"parent_run_id": retry_of.run_id, "root_run_id": retry_of.root_run_id or retry_of.run_id} \
            if retry_of else {}
        run = self.instance.create_run_for_job(self.defs.resolve_job_def(PIPELINE_JOB), status=status,
                                               tags=tags or {}, **lineage)
        if read is not None:
            materialization = AssetMaterialization(AssetKey("cleaned_bodyfat"), metadata={PARTITIONS_READ: read})
            self.instance.report_dagster_event(DagsterEvent(
                DagsterEventType.ASSET_MATERIALIZATION.value, job_name=PIPELINE_JOB,
                event_specific_data=StepMaterializationData(materialization)), run_id=run.run_id)
        return run
