"""`bodyfat health` (`make health`): the model's health, read from the Dagster instance, the lake and the registry.
Bad news first: a shifted world no challenger can follow, blocked or rejected decisions, failed runs, stuck files."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

from bodyfat_assets import asset_keys
from bodyfat_assets.core.health.fit import ChampionFit, champion_fit, fit_metrics
from bodyfat_assets.core.health.loop import Decision, FailedRun, LandedFile, stuck_files
from bodyfat_assets.core.health.report import health_text
from bodyfat_assets.core.health.served import latest_labels, performance_by_version, status_counts
from bodyfat_assets.core.landing.naming import KINDS
from bodyfat_assets.defs.jobs import PIPELINE_JOB
from bodyfat_assets.lake import Lake, ObjectStore
from bodyfat_assets.partitions import LABELS_FILES
from bodyfat_assets.partitions import landed_files as landed_files_of_run
from bodyfat_assets.settings import Settings

HEALTH_KEY = Lake.key_for(asset_keys.MODEL_HEALTH.path)
DECISIONS_SHOWN = 5
CHAMPION_HISTORY = 100
"""Champion decisions searched back for when the serving champion took over."""
FAILED_RUNS_SHOWN = 20
IN_FLIGHT = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED]


def _hours_since(timestamp: float) -> float:
    return (time.time() - timestamp) / 3600


def _metadata(entry: Any, name: str) -> Any:
    value = entry.asset_materialization.metadata.get(name)
    return getattr(value, "value", value)


def decisions(records: list[Any]) -> list[Decision]:
    """The champion asset's last decisions, newest first, from its materializations' metadata."""
    return [Decision(_hours_since(r.timestamp), str(_metadata(r.event_log_entry, "decision")),
                     str(_metadata(r.event_log_entry, "challenger_version")),
                     str(_metadata(r.event_log_entry, "champion_version")),
                     str(_metadata(r.event_log_entry, "reason"))) for r in records[:DECISIONS_SHOWN]]


def champion_facts(records: list[Any]) -> dict[str, Any] | None:
    """The champion the last decision left serving, from the champion asset's materializations (newest first): that
    asset is what moves the registry's alias, and records the champion's RMSE on the test split it decided on and at
    its promotion. Read here, not from MLflow: importing MLflow's client alone cost `bodyfat health` 3.5 s of CPU."""
    if not records:
        return None
    entry = records[0].event_log_entry
    version = _metadata(entry, "champion_version")
    if version in (None, "None"):
        return None
    since = records[0]
    for record in records:  # back to the first decision that left this version serving
        if str(_metadata(record.event_log_entry, "champion_version")) != str(version):
            break
        since = record
    at_promotion = _metadata(entry, "champion_rmse_at_promotion")
    return {"version": version, "family": _metadata(entry, "champion_family") or "?",
            "test_rmse": f"{at_promotion:.3f}" if at_promotion is not None else "?",
            "at_promotion": at_promotion, "rmse_now": _metadata(entry, "champion_rmse_now"),
            "age_hours": _hours_since(since.timestamp)}


def _error_of(instance: DagsterInstance, run_id: str) -> str:
    for event_type in (DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE):
        for entry in instance.all_logs(run_id, of_type=event_type):
            event = entry.dagster_event
            error = event.step_failure_data.error if event and event.is_step_failure else None
            message = (error.message if error else entry.message or (event.message if event else "")) or ""
            if message.strip():  # the first line, without the exception's module path
                return re.sub(r"^[\w.]+\.(\w+: )", r"\1", message.strip().splitlines()[0])[:240]
    return "no error recorded"


def failed_runs(instance: DagsterInstance, since: float | None) -> list[FailedRun]:
    created_after = datetime.fromtimestamp(since, UTC) if since else None
    records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.FAILURE], created_after=created_after),
                                       limit=FAILED_RUNS_SHOWN)
    return [FailedRun(_hours_since(r.create_timestamp.timestamp()), r.dagster_run.job_name, r.dagster_run.run_id,
                      ", ".join(landed_files_of_run(r.dagster_run.tags).values()),
                      _error_of(instance, r.dagster_run.run_id)) for r in records]


def landed_files(landing: ObjectStore) -> list[LandedFile]:
    return [LandedFile(o.key, _hours_since(o.mtime)) for kind in KINDS
            for o in landing.list_objects(f"{kind}/")]


def in_flight_names(instance: DagsterInstance) -> set[str]:
    records = instance.get_run_records(RunsFilter(statuses=IN_FLIGHT))
    return {name for r in records for name in landed_files_of_run(r.dagster_run.tags).values()}


def served_labels(instance: DagsterInstance, lake: Lake) -> pd.DataFrame | None:
    """Every measured labels file's rows, in landing order (None: none measured yet)."""
    keys = [lake.key_for(asset_keys.SERVED_PERFORMANCE.path, key)
            for key in instance.get_dynamic_partitions(LABELS_FILES.name)]
    frames = [frame for key in keys if (frame := lake.read_frame(key)) is not None]
    return pd.concat(frames, ignore_index=True) if frames else None


def gather(settings: Settings, instance: DagsterInstance) -> str:
    return health_text(**collect(settings, instance))


def collect(settings: Settings, instance: DagsterInstance) -> dict[str, Any]:
    """Every fact health_text reports, read from the Dagster instance's records and the lake."""
    lake = settings.lake
    records = instance.fetch_materializations(asset_keys.CHAMPION, limit=CHAMPION_HISTORY).records
    last_decisions = decisions(records)
    champion = champion_facts(records)
    fit: ChampionFit | None = None
    if champion is not None:
        fit = champion_fit(last_decisions[0].outcome, str(champion["version"]), champion["rmse_now"],
                           champion["at_promotion"], ceiling=settings.promotion.rmse_ceiling,
                           ratio=settings.health.live_rmse_ratio)
    history = lake.read_frame(HEALTH_KEY)
    windows = {"champion": settings.health.champion_fresh_hours,
               "batch_predictions": settings.health.predictions_fresh_hours}
    stale = {}
    for asset, hours in windows.items():  # the same windows as the FreshnessPolicies the Dagster UI checks
        latest = instance.get_latest_materialization_event(AssetKey(asset))
        age = _hours_since(latest.timestamp) if latest else float("inf")
        if age > hours:
            stale[asset] = age
    runs = instance.get_run_records(RunsFilter(job_name=PIPELINE_JOB), limit=1)
    last_retrain = None if not runs else {
        "status": runs[0].dagster_run.status.value, "age_hours": _hours_since(runs[0].create_timestamp.timestamp()),
        "reason": runs[0].dagster_run.tags.get("bodyfat/retrain_reason", "run by hand (no sensor reason)")}
    good = instance.get_run_records(RunsFilter(job_name=PIPELINE_JOB, statuses=[DagsterRunStatus.SUCCESS]), limit=1)
    since = good[0].create_timestamp.timestamp() if good else None
    # A new file waits up to one sensor tick for its run; two ticks of grace keep it from reading as stuck.
    grace_hours = 2 * settings.landing.sensor_interval_s / 3600
    labels = served_labels(instance, lake)
    return {"served": None if labels is None else performance_by_version(latest_labels(labels)),
            "served_counts": None if labels is None else status_counts(labels),
            "champion": champion, "history": history, "stale": stale, "last_retrain": last_retrain, "fit": fit,
            "decisions": last_decisions, "failed": failed_runs(instance, since),
            "stuck": stuck_files(landed_files(lake.landing_store), in_flight_names(instance), grace_hours),
            "since": f"the last successful retrain ({_hours_since(since):.1f} h ago)" if since
            else "the start (no successful retrain yet)"}


def write_textfile(path: Path, fit: ChampionFit) -> None:
    """Written whole then renamed: node_exporter must never read half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(fit_metrics(fit))
    partial.replace(path)


def health_command(textfile: Path | None = None) -> int:
    settings = Settings.from_env()
    if not (settings.dagster_home / "dagster.yaml").exists():
        print(f"no Dagster instance at {settings.dagster_home}: run `make demo` first")
        return 1
    with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        facts = collect(settings, instance)
    print(health_text(**facts))
    if textfile is not None and facts["fit"] is not None:
        write_textfile(textfile, facts["fit"])
    return 0
