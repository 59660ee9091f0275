"""In-process runs of the asset graph for pipeline tests: a job on a partition, a file landed and ingested."""

import pandas as pd
from dagster import DagsterInstance, ExecuteInProcessResult

from bodyfat_assets.core.landing.naming import content_hash, partition_key_for
from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.jobs import INGEST_JOB, LABELS_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.lake import store_from_url
from bodyfat_assets.partitions import LABELED_FILES, LABELS_FILES, SCORING_FILES, landed_files_tags
from bodyfat_assets.settings import Settings

PARTITIONS_BY_KIND = {"train": LABELED_FILES, "score": SCORING_FILES, "labels": LABELS_FILES}
JOB_BY_KIND = {"train": INGEST_JOB, "score": SCORE_JOB, "labels": LABELS_JOB}


def run_job(settings: Settings, instance: DagsterInstance, job_name: str = PIPELINE_JOB,
            partition_key: str | None = None, run_config: dict | None = None) -> ExecuteInProcessResult:
    job = build_definitions(settings).resolve_job_def(job_name)
    return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False,
                                  partition_key=partition_key)


def land_and_run(settings: Settings, instance: DagsterInstance, kind: str, name: str,
                 frame: pd.DataFrame) -> tuple[str, ExecuteInProcessResult]:
    """Drop a file in landing/<kind>/, register its partition as the landing sensor would, run its job."""
    data = frame.to_csv(index=False).encode()
    store_from_url(f"{settings.lake_url}/landing").write_bytes(f"{kind}/{name}", data)
    key = partition_key_for(name, content_hash(data))
    instance.add_dynamic_partitions(PARTITIONS_BY_KIND[kind].name, [key])
    result = build_definitions(settings).resolve_job_def(JOB_BY_KIND[kind]).execute_in_process(
        instance=instance, partition_key=key, tags=landed_files_tags({key: name}), raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return key, result
