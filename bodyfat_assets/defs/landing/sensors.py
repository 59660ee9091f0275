"""Sensors: the landing zone → ingestion and scoring runs; new raw rows → retraining. Re-scoring on a new champion
is Declarative Automation (defs/predictions/).

The decisions (validation, classification, debouncing) are plain functions in `core/landing/`; these
sensors read the state they need from the lake and the Dagster instance and turn the decisions into requests.
"""

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from dagster import (
    AddDynamicPartitionsRequest,
    AssetObservation,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DeleteDynamicPartitionsRequest,
    EventLogEntry,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from bodyfat_assets.asset_keys import (
    BATCH_PREDICTIONS,
    CHAMPION,
    CLEANED_BODYFAT,
    LANDING_ZONE,
    LIVE_PERFORMANCE,
    RAW_BODYFAT,
    SERVED_PERFORMANCE,
)
from bodyfat_assets.core.landing.batches import AcceptedFile, ingestion_batches
from bodyfat_assets.core.landing.cursor import LandingCursor
from bodyfat_assets.core.landing.intake import KnownPartitions, Verdict, rows_text, take_in
from bodyfat_assets.core.landing.naming import KINDS, LABELS, SCORE, SEED_PARTITION, SEEDED_KINDS, TRAIN
from bodyfat_assets.core.landing.retrain import (
    CANCELED,
    FAILED,
    IN_FLIGHT,
    SUCCEEDED,
    LatestRetrain,
    retrain_decision,
    retrain_run_key,
    same_data_reason,
    waiting_for,
)
from bodyfat_assets.defs.data.assets import PARTITIONS_READ
from bodyfat_assets.defs.jobs import bodyfat_pipeline, ingest_labeled_file, measure_served_labels, score_batch
from bodyfat_assets.defs.landing.requeue import gone_partitions, requeue_stranded
from bodyfat_assets.landing_zone import LandingZone, RetrainPolicy
from bodyfat_assets.load_time import sensor_cadence
from bodyfat_assets.metadata import table
from bodyfat_assets.partitions import (
    LABELED_FILES,
    LABELS_FILES,
    SCORING_FILES,
    WILL_RETRY_TAG,
    landed_files,
    landed_files_tags,
    partition_range_tags,
)
from bodyfat_assets.settings import LandingSettings

ASSET_BY_KIND = {TRAIN: RAW_BODYFAT, SCORE: BATCH_PREDICTIONS, LABELS: SERVED_PERFORMANCE}
PARTITIONS_BY_DEF = {TRAIN: LABELED_FILES, SCORE: SCORING_FILES, LABELS: LABELS_FILES}
PARTITIONS_BY_KIND = {kind: partitions.name for kind, partitions in PARTITIONS_BY_DEF.items()}
IN_FLIGHT_STATUSES = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                      DagsterRunStatus.STARTED]
RETRAIN_KEY_TAG = "bodyfat/retrain_key"
"""On a retraining run (and Dagster's retries of it): its run key, which names the data it reads; the sensor finds
an earlier run on the same data by it."""


def known_partitions(instance: DagsterInstance) -> dict[str, KnownPartitions]:
    """Per kind of file: partitions ever materialized, and partitions of landed files with a run queued or in
    progress (by key: partition keys carry the file's content hash, so a key names one file of one kind)."""
    active = instance.get_run_records(RunsFilter(statuses=IN_FLIGHT_STATUSES), limit=1000)
    in_flight = frozenset(key for r in active for key in landed_files(r.dagster_run.tags))
    return {kind: KnownPartitions(frozenset(instance.get_materialized_partitions(asset)), in_flight)
            for kind, asset in ASSET_BY_KIND.items()}


def _metadata_value(entry: EventLogEntry, name: str) -> Any:
    materialization = entry.asset_materialization
    value = materialization.metadata.get(name) if materialization else None
    return getattr(value, "value", value)


def current_champion_version(instance: DagsterInstance) -> str | None:
    """The champion version recorded by the latest champion materialization (None before the first)."""
    entry = instance.get_latest_materialization_event(CHAMPION)
    version = _metadata_value(entry, "champion_version") if entry else None
    return None if version in (None, "None", "none", "") else str(version)


def landing_sensors(settings: LandingSettings) -> list[SensorDefinition]:
    """The landing and retrain sensors, at the cadence `settings` gives (build_definitions adds them)."""
    cadence = sensor_cadence(settings)

    @sensor(name="landing_sensor", jobs=[ingest_labeled_file, score_batch, measure_served_labels], **cadence,
            description="New files in landing/train/, landing/score/ and landing/labels/: validate, register a "
                        "partition, request the run; bad files go to landing/rejected/ with a reason. Registers the "
                        "`seed` partitions.")
    def landing_sensor(context: SensorEvaluationContext, landing: LandingZone) -> SensorResult:
        return evaluate_landing(context, landing, ingest_labeled_file.name, score_batch.name,
                                measure_served_labels.name)

    # A sensor, not Declarative Automation: automation conditions cannot debounce on a sum of rows across partitions.
    @sensor(name="retrain_sensor", job=bodyfat_pipeline, **cadence,
            description="Retrains (cleaned → splits → tuned_model → champion) once raw_bodyfat partitions brought "
                        "enough new rows and enough time passed since the last retraining run (`retrain_policy`); "
                        "the promotion gate decides.")
    def retrain_sensor(context: SensorEvaluationContext, retrain_policy: RetrainPolicy) -> RunRequest | SkipReason:
        return evaluate_retrain(context, retrain_policy, bodyfat_pipeline.name)

    return [landing_sensor, retrain_sensor]


def evaluate_landing(context: SensorEvaluationContext, landing: LandingZone, ingest_job: str,
                     score_job: str, labels_job: str) -> SensorResult:
    instance = context.instance
    existing = {kind: list(instance.get_dynamic_partitions(name)) for kind, name in PARTITIONS_BY_KIND.items()}
    intake = take_in(landing.store(), LandingCursor.from_json(context.cursor), lambda: known_partitions(instance),
                     min_age_s=landing.min_file_age_s)

    # A fresh instance knows no partition: the seed dataset becomes the first of each, so the loop starts itself
    # (the seed scoring partition is scored by Declarative Automation once a champion exists).
    new_partitions = {kind: [SEED_PARTITION] if kind in SEEDED_KINDS and SEED_PARTITION not in existing[kind] else []
                      for kind in KINDS}
    runs = [RunRequest(run_key=f"{TRAIN}/{SEED_PARTITION}", job_name=ingest_job, partition_key=SEED_PARTITION)
            ] if new_partitions[TRAIN] else []
    accepted_scoring = intake.accepted(SCORE)
    # Without a champion, Declarative Automation scores accepted scoring files when the first one lands.
    champion = current_champion_version(instance) if accepted_scoring else None
    job_by_kind = {TRAIN: ingest_job, SCORE: score_job, LABELS: labels_job}
    # Labeled files new this tick are ingested together (core/landing/batches.py); a file whose partition exists
    # already (its first run failed), each scoring file (its own run, in the `scoring` pool) and each labels file
    # run alone.
    new_train = [v for v in intake.accepted(TRAIN) if v.partition_key not in existing[TRAIN]]
    batches = ingestion_batches([AcceptedFile(str(v.partition_key), v.obj.name, v.obj.size) for v in new_train])
    runs += [batch_request(batch, new_train, ingest_job) for batch in batches]
    for verdict in [*[v for v in intake.accepted(TRAIN) if v not in new_train],
                    *(accepted_scoring if champion is not None else []), *intake.accepted(LABELS)]:
        runs.append(RunRequest(run_key=verdict.obj.token, partition_key=verdict.partition_key,
                               job_name=job_by_kind[verdict.obj.kind],
                               tags=landed_files_tags({str(verdict.partition_key): verdict.obj.name})))
    # Files whose run failed for a reason outside them: asked for again with a growing wait, then rejected.
    requeued, requeue_decisions = requeue_stranded(
        instance, landing.store(), job_by_kind,
        lambda: {kind: known.ingested for kind, known in known_partitions(instance).items()}, landing.requeue_policy())
    runs += requeued
    for decision in requeue_decisions:
        log = context.log.warning if decision.action == "reject" else context.log.info
        log(f"{decision.action} {decision.file.kind}/{decision.file.landing_name} (partition "
            f"{decision.file.partition_key}): {decision.detail}")
    for kind in KINDS:  # a retried partition (its first run failed) is registered already
        new_partitions[kind] += [str(verdict.partition_key) for verdict in intake.accepted(kind)
                                 if verdict.partition_key not in existing[kind]]  # in the order of the batches
    for verdict in intake.verdicts:
        if verdict.moved_to:
            context.log.warning(f"rejected {verdict.obj.key} ({verdict.code}: {verdict.detail}) → {verdict.moved_to}")
        else:
            context.log.info(f"{verdict.action} {verdict.obj.key}: partition {verdict.partition_key} "
                             f"({rows_text(verdict.rows)}) {verdict.detail}")
    for obj in intake.settling:
        context.log.info(f"waiting for {obj.key} to settle ({obj.size} bytes so far)")
    if intake.deferred:
        context.log.info(f"tick budget spent: {len(intake.deferred)} file(s) left for the next tick")
    for key, error in intake.failures.items():
        context.log.error(f"could not handle {key}: {error}; retrying next tick")

    requests: list[AddDynamicPartitionsRequest | DeleteDynamicPartitionsRequest] = [
        AddDynamicPartitionsRequest(PARTITIONS_BY_KIND[kind], keys) for kind, keys in new_partitions.items() if keys]
    # The partitions' lifecycle is this sensor's: a partition whose file went away after it was accepted goes too.
    for kind in KINDS:
        gone = gone_partitions(instance, landing.store(), existing[kind], ASSET_BY_KIND[kind],
                               PARTITIONS_BY_DEF[kind], kind)
        if gone:
            context.log.warning(f"deleting {kind} partitions {gone}: never materialized, their files are gone")
            requests.append(DeleteDynamicPartitionsRequest(PARTITIONS_BY_KIND[kind], gone))
    events = []
    if intake.verdicts:
        files = pd.DataFrame([{"file": v.obj.key, "action": v.action, "partition": v.partition_key or "",
                               "rows": v.rows, "reason": v.code, "detail": v.detail[:300]} for v in intake.verdicts])
        events.append(AssetObservation(asset_key=LANDING_ZONE, metadata={
            "accepted": int((files["action"] == "accept").sum()),
            "rejected": int((files["action"] == "reject").sum()),
            "files": table(files),
            "landing": landing.url,
        }))
    waiting = [d.detail for d in requeue_decisions if d.action == "wait"]
    return SensorResult(run_requests=runs, dynamic_partitions_requests=requests, asset_events=events,
                        cursor=intake.cursor.to_json(),
                        skip_reason=None if runs or requests or events else
                        f"{len(intake.settling)} file(s) still being written" if intake.settling else
                        f"{len(waiting)} file(s) whose run failed wait to be asked again: {waiting[0]}" if waiting
                        else "no new file in the landing zone")


def batch_request(batch: list[AcceptedFile], verdicts: list[Verdict], ingest_job: str) -> RunRequest:
    """One ingestion run for a batch of new labeled files: a single file's run as before, several as one run over
    their partitions (registered in this order by the same tick, so adjacent)."""
    names = {file.partition_key: file.landing_name for file in batch}
    if len(batch) == 1:
        [verdict] = [v for v in verdicts if v.partition_key == batch[0].partition_key]
        return RunRequest(run_key=verdict.obj.token, partition_key=batch[0].partition_key, job_name=ingest_job,
                          tags=landed_files_tags(names))
    tokens = sorted(v.obj.token for v in verdicts if v.partition_key in names)
    return RunRequest(run_key=f"{TRAIN}/batch-{hashlib.sha256(chr(0).join(tokens).encode()).hexdigest()[:16]}",
                      job_name=ingest_job, tags={**landed_files_tags(names),
                                                 **partition_range_tags(batch[0].partition_key,
                                                                        batch[-1].partition_key)})


def latest_retrain(instance: DagsterInstance, retrain_job: str) -> LatestRetrain | None:
    """The newest retraining run, whatever its status (retries of a run are runs of the same job)."""
    records = instance.get_run_records(RunsFilter(job_name=retrain_job), limit=1)
    if not records:
        return None
    run = records[0].dagster_run
    return LatestRetrain(run.run_id, outcome_of(run), run.status.value,
                         will_retry=run.tags.get(WILL_RETRY_TAG) == "true", retry_number=retries_before(instance, run))


def retries_before(instance: DagsterInstance, run: DagsterRun) -> int:
    """How many runs this one re-executes, from its public lineage (parent_run_id): a retry's number."""
    count = 0
    while run.parent_run_id and (parent := instance.get_run_by_id(run.parent_run_id)) is not None:
        count, run = count + 1, parent
    return count


def outcome_of(run: DagsterRun) -> str:
    return (IN_FLIGHT if run.status in IN_FLIGHT_STATUSES else SUCCEEDED if run.status == DagsterRunStatus.SUCCESS
            else FAILED if run.status == DagsterRunStatus.FAILURE else CANCELED)


def partitions_read_by(instance: DagsterInstance, run: DagsterRun) -> set[str] | None:
    """The raw partitions the cleaning step of `run` (or of the run it retries) read, from cleaned_bodyfat's
    metadata; None when that materialization predates the record."""
    group = {run.run_id, run.root_run_id, run.parent_run_id} - {None}
    for record in instance.fetch_materializations(CLEANED_BODYFAT, limit=50).records:
        if record.run_id in group:
            read = _metadata_value(record.event_log_entry, PARTITIONS_READ)
            return None if read is None else set(read)
    return None


def evaluate_retrain(context: SensorEvaluationContext, policy: RetrainPolicy,
                     retrain_job: str) -> RunRequest | SkipReason:
    instance = context.instance
    latest = latest_retrain(instance, retrain_job)
    waiting = waiting_for(latest)
    if waiting:
        return SkipReason(waiting)
    good = instance.get_run_records(RunsFilter(job_name=retrain_job, statuses=[DagsterRunStatus.SUCCESS]), limit=1)
    baseline = good[0] if good else None
    seen = partitions_read_by(instance, baseline.dagster_run) if baseline else set()
    # Partitions materialized before the last good run was created were read by it; those after it may have been. A
    # retry from failure may reuse its first attempt's cleaning step: count from the first attempt.
    first_attempt = baseline and (instance.get_run_record_by_id(baseline.dagster_run.root_run_id)
                                  if baseline.dagster_run.root_run_id else baseline)
    since = first_attempt.create_timestamp.timestamp() if first_attempt else None
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=RAW_BODYFAT, after_timestamp=since),
                                              limit=10_000).records
    if seen is None:  # a run from before `partitions_read` was recorded: it read what was there when it started
        started = baseline.start_time or since
        seen = {str(r.partition_key) for r in records if r.event_log_entry.timestamp < started}
    # A file counts once the run that ingested it has finished: live_performance, in the same run, is written after
    # raw_bodyfat, and a tick between the two retrained without its evidence (seen in the daemon loop test).
    finished = {run_id: not run_id or (run is not None and run.is_finished)  # a runless report is complete
                for run_id in {record.run_id for record in records}
                for run in [instance.get_run_by_id(run_id) if run_id else None]}
    rows_by_partition: dict[str, int] = {}
    for record in records:  # newest first: a re-materialized partition counts once
        partition = str(record.partition_key)
        if finished[record.run_id] and partition not in seen and partition not in rows_by_partition:
            rows_by_partition[partition] = int(_metadata_value(record.event_log_entry, "rows") or 0)
    evidence, suspect = evidence_for(instance, since, set(rows_by_partition))
    for partition in suspect:  # held back for review by cleaning: their rows do not count towards a retrain
        rows_by_partition.pop(partition, None)
    # The interval runs from the newest retraining run, whatever its outcome: a failed one starts the clock too.
    last_created = latest and instance.get_run_record_by_id(latest.run_id).create_timestamp.timestamp()
    decision = retrain_decision(
        pending_rows=sum(rows_by_partition.values()), pending_files=len(rows_by_partition),
        seconds_since_last=None if not last_created else time.time() - last_created,
        min_rows=policy.landing.retrain_min_rows, min_interval_s=policy.landing.retrain_min_interval_s,
        evidence=list(evidence.values()))
    if not decision.retrain:
        return SkipReason(decision.reason)
    run_key = retrain_run_key(seen | set(rows_by_partition))
    same_data = instance.get_runs(RunsFilter(job_name=retrain_job, tags={RETRAIN_KEY_TAG: run_key}), limit=1)
    if same_data:
        return SkipReason(same_data_reason(same_data[0].run_id, outcome_of(same_data[0])))
    context.log.info(f"retraining: {decision.reason}")
    return RunRequest(run_key=run_key, job_name=retrain_job, tags={
        RETRAIN_KEY_TAG: run_key,
        "bodyfat/retrain_reason": decision.reason[:250],
        "bodyfat/new_partitions": ",".join(sorted(rows_by_partition))[:250],
        **({"bodyfat/retrain_evidence": "; ".join(f"{k}: {v}" for k, v in evidence.items())[:250]}
           if decision.reason.startswith("evidence") else {}),
        "bodyfat/requested_at": datetime.now(UTC).isoformat(),
    })


def evidence_for(instance: DagsterInstance, since: float | None,
                 partitions: set[str]) -> tuple[dict[str, str], set[str]]:
    """Of `partitions` (labeled files not yet trained on): file → the retrain evidence its live_performance
    recorded, and the files whose labels it found suspect."""
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=LIVE_PERFORMANCE, after_timestamp=since),
                                              limit=1_000).records
    evidence: dict[str, str] = {}
    suspect: set[str] = set()
    seen: set[str] = set()
    for record in records:  # newest first: the latest measurement of a file counts
        partition = str(record.partition_key)
        if partition in seen or partition not in partitions:
            continue
        seen.add(partition)
        found = _metadata_value(record.event_log_entry, "evidence")
        if found and found != "none":
            evidence[partition] = str(found)
        if _metadata_value(record.event_log_entry, "suspect_labels") not in (None, "", "no"):
            suspect.add(partition)
    return evidence, suspect
