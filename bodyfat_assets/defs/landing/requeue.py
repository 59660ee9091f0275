"""The landing sensor's second duty: ask again for the run of a file whose run failed for a reason outside the
file (core/landing/requeue.py decides; this module reads the instance and the store, and acts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping

from dagster import (
    AssetKey,
    AssetPartitionStatus,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DynamicPartitionsDefinition,
    RunRecord,
    RunRequest,
    RunsFilter,
)

from bodyfat_assets.core.landing.cursor import LandedObject
from bodyfat_assets.core.landing.moves import reject_object
from bodyfat_assets.core.landing.naming import PROCESSED, SEED_PARTITION, partition_of_processed
from bodyfat_assets.core.landing.partition_file import PartitionFileGone, locate_partition_file
from bodyfat_assets.core.landing.requeue import (
    REQUEUE_TAG,
    RUN_FAILED,
    RequeueDecision,
    RequeuePolicy,
    StrandedFile,
    decide_requeue,
)
from bodyfat_assets.lake import ObjectStore
from bodyfat_assets.partitions import WILL_RETRY_TAG, landed_files, landed_files_tags

RECENT_RUNS = 500
"""Runs looked at per job and tick, the newest first: a file whose latest run is older was requeued, rejected or
ingested long ago."""


def _failure_message(instance: DagsterInstance, run_id: str) -> str:
    """The last failed step's error (the run's own message says only which steps failed), else the run's."""
    for event in reversed(instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)):
        error = event.dagster_event.step_failure_data.error if event.dagster_event else None
        if error is not None:
            while error.cause is not None:  # Dagster wraps an IO manager's error: its cause says what happened
                error = error.cause
            return f"{error.cls_name}: {error.message.strip()}"
    runs = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    return runs[-1].message if runs and runs[-1].message else "no failure message recorded"


def _stored_at(store: ObjectStore, kind: str, name: str, partition_key: str) -> str | None:
    """Where a stranded partition's file is: still landed, or moved to processed/ by a run that failed after reading
    it (not materialized either way); None when it is gone."""
    if store.exists(f"{kind}/{name}"):
        return f"{kind}/{name}"
    processed = [k for k in store.list_keys(f"{PROCESSED}/{kind}/") if partition_of_processed(k) == partition_key]
    return processed[0] if processed else None


def stranded_files(instance: DagsterInstance, store: ObjectStore, jobs_by_kind: Mapping[str, str],
                   materialized: Callable[[], Mapping[str, frozenset[str]]]) -> list[tuple[StrandedFile, str]]:
    """Every landed file whose latest run failed with no retry to come and was never materialized, with where its
    file is now. A run may hold several files (a burst ingested together): each is looked at on its own.
    `materialized` (per kind) is asked only when a run of a landed file failed: its answer grows with every file
    ever ingested."""
    found = []
    for kind, job in jobs_by_kind.items():
        latest: dict[str, RunRecord] = {}
        requeued: dict[str, int] = {}
        for record in instance.get_run_records(RunsFilter(job_name=job), limit=RECENT_RUNS):  # newest first
            tags = record.dagster_run.tags
            for key in landed_files(tags):
                latest.setdefault(key, record)
                requeued[key] = max(requeued.get(key, 0), int(tags.get(REQUEUE_TAG, 0)))
        failed = {key: record for key, record in latest.items()
                  if record.dagster_run.status == DagsterRunStatus.FAILURE
                  and record.dagster_run.tags.get(WILL_RETRY_TAG) != "true"}  # else Dagster's run retries will
        done = materialized()[kind] if failed else frozenset()
        for key, record in failed.items():
            if key in done:
                continue
            name = landed_files(record.dagster_run.tags)[key]
            stored_at = _stored_at(store, kind, name, key)
            if stored_at is None:
                continue
            ended = record.end_time or record.update_timestamp.timestamp()
            found.append((StrandedFile(kind, name, key, requeued[key], ended,
                                       _failure_message(instance, record.dagster_run.run_id)), stored_at))
    return found


def requeue_stranded(instance: DagsterInstance, store: ObjectStore, jobs_by_kind: Mapping[str, str],
                     materialized: Callable[[], Mapping[str, frozenset[str]]], policy: RequeuePolicy,
                     now: float | None = None) -> tuple[list[RunRequest], list[RequeueDecision]]:
    """Run requests for stranded files whose wait is over, and every decision taken (files whose requests are spent
    are moved to rejected/ with the last error as their reason)."""
    now = time.time() if now is None else now
    requests, decisions = [], []
    for file, stored_at in stranded_files(instance, store, jobs_by_kind, materialized):
        decision = decide_requeue(file, now, policy)
        decisions.append(decision)
        if decision.action == "requeue":
            attempt = file.requeued + 1
            requests.append(RunRequest(
                run_key=f"{file.kind}/{file.partition_key}:requeue-{attempt}", partition_key=file.partition_key,
                job_name=jobs_by_kind[file.kind],
                tags={**landed_files_tags({file.partition_key: file.landing_name}), REQUEUE_TAG: str(attempt)}))
        elif decision.action == "reject":
            landed = LandedObject(f"{file.kind}/{file.landing_name}", "", store.size(stored_at))
            reject_object(store, landed, RUN_FAILED, decision.detail, stored_at=stored_at)
    return requests, decisions


def gone_partitions(instance: DagsterInstance, store: ObjectStore, registered: Collection[str], asset_key: AssetKey,
                    partitions_def: DynamicPartitionsDefinition, kind: str) -> list[str]:
    """Of the `registered` partitions of landed files, those never materialized whose latest run failed and whose
    file is in neither landing/ nor processed/ (changed or removed after it was accepted): the landing sensor deletes
    them, so no run (a re-scoring after each promotion) asks for them again. Found through the asset's public
    partition status, asked only for partitions with no materialization: building that status took 30-56 ms per
    kind and tick even with no partition (three kinds, every tick), most of the sensor's 250-350 ms tick."""
    materialized = instance.get_materialized_partitions(asset_key)
    candidates = [k for k in registered if k != SEED_PARTITION and k not in materialized]
    if not candidates:
        return []
    status = instance.get_status_by_partition(asset_key, candidates, partitions_def) or {}
    gone = []
    for key, state in status.items():
        if state != AssetPartitionStatus.FAILED:
            continue
        try:
            locate_partition_file(store, kind, key, None)
        except PartitionFileGone:
            gone.append(key)
    return gone
