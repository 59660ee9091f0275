"""The pipeline through the production resources against real services: S3 (moto's server) for the lake and
MLflow's artifacts, a real `mlflow server` on PostgreSQL, Optuna on PostgreSQL, and a Dagster instance on
PostgreSQL built from docker/dagster.yaml.

Works with both asset layouts: the single `bodyfat_pipeline` job over unpartitioned assets, and the landing-zone
layout (raw_bodyfat / batch_predictions partitioned by landed file: ingest `seed` → `bodyfat_pipeline` → score
`seed`, as `test_materialize.py` does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import mlflow
import optuna
import pytest
import sqlalchemy as sa
from bodyfat_contract import FEATURE_NAMES
from dagster import AssetKey, DagsterInstance, execute_job, reconstructable

from bodyfat_assets import definitions
from bodyfat_assets.core.model_outputs import TunedModel
from bodyfat_assets.defs import jobs
from bodyfat_assets.lake import parquet_to_frame
from bodyfat_assets.settings import Settings
from tests.support.definitions import check_names, materializable_asset_names
from tests.support.production import ProductionStack
from tests.support.production_job import production_ingest, production_job

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SEED = "seed"
FIRST_TRIALS, SECOND_TRIALS, WORKER_TRIALS = 6, 4, 3
LAKE_OBJECTS = {  # asset → key under the lake prefix, as the IO managers write them
    "raw_bodyfat": f"raw_bodyfat/{SEED}.parquet",
    "cleaned_bodyfat": "cleaned_bodyfat.parquet",
    "quarantined_bodyfat": "quarantined_bodyfat.parquet",
    "bodyfat_splits": "bodyfat_splits.parquet",
    "batch_predictions": f"predictions/{SEED}.parquet",
    "tuned_model": "tuned_model.json",
    "champion": "champion.json",
}


def query(url: str, sql: str, **params: Any) -> list[sa.Row]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def instance(production_stack: ProductionStack) -> Iterator[DagsterInstance]:
    with DagsterInstance.from_config(str(production_stack.dagster_home)) as instance:
        yield instance


def run(instance: DagsterInstance, job_name: str = jobs.PIPELINE_JOB, run_config: dict | None = None,
        assets: list[str] | None = None, partition_key: str | None = None):
    """A production job (production Settings from os.environ: S3 lake, MLflow server, Optuna on PostgreSQL),
    executed in this process. `execute_in_process` swaps the job's multiprocess executor for the in-process one:
    on the shared 2-core machine a process per step (6 assets + 8 checks, each importing the ML stack) took
    4.5 min for one run. `test_multiprocess_executor_reaches_the_services` covers that executor on a small job."""
    result = production_job(job_name).execute_in_process(
        instance=instance, run_config=run_config, partition_key=partition_key, raise_on_error=False,
        asset_selection=[AssetKey(a) for a in assets] if assets else None)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


@pytest.fixture(scope="module")
def first_runs(production_stack: ProductionStack, instance: DagsterInstance) -> dict[str, Any]:
    """Everything materialized once: {"run_ids": [...], "pipeline_run_id": ..., "tuned_model": summary}."""
    from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES

    instance.add_dynamic_partitions(LABELED_FILES.name, [SEED])
    instance.add_dynamic_partitions(SCORING_FILES.name, [SEED])
    ingest = run(instance, jobs.INGEST_JOB, partition_key=SEED)
    pipeline = run(instance)
    score = run(instance, jobs.SCORE_JOB, partition_key=SEED)
    health = run(instance, jobs.HEALTH_JOB)
    results = [ingest, pipeline, score, health]
    return {"run_ids": [r.run_id for r in results], "pipeline_run_id": pipeline.run_id,
            "tuned_model": pipeline.output_for_node("tuned_model")}


@pytest.fixture(scope="module")
def lake(production_stack: ProductionStack):
    s3 = production_stack.s3()

    def read(asset: str) -> bytes:
        key = f"{production_stack.lake_prefix}/{LAKE_OBJECTS[asset]}"
        return s3.get_object(Bucket=production_stack.lake_bucket, Key=key)["Body"].read()

    return read


def test_lake_bucket_holds_every_asset(production_stack: ProductionStack, first_runs, lake, seed_frame) -> None:
    listed = production_stack.s3().list_objects_v2(Bucket=production_stack.lake_bucket)["Contents"]
    keys = {obj["Key"] for obj in listed}
    expected = {f"{production_stack.lake_prefix}/{key}" for key in LAKE_OBJECTS.values()}
    assert expected <= keys, sorted(expected - keys)

    raw = parquet_to_frame(lake("raw_bodyfat"))
    assert len(raw) == len(seed_frame) and {"row_id", *seed_frame.columns} <= set(raw.columns)
    cleaned = parquet_to_frame(lake("cleaned_bodyfat"))
    quarantined = parquet_to_frame(lake("quarantined_bodyfat"))
    assert len(quarantined) > 0 and len(cleaned) + len(quarantined) == len(raw)
    assert {"row_id", "rules", "reasons"} <= set(quarantined.columns)
    splits = parquet_to_frame(lake("bodyfat_splits"))
    assert len(splits) == len(cleaned) and set(splits["split"]) == {"train", "test"}
    predictions = parquet_to_frame(lake("batch_predictions"))
    assert len(predictions) == len(raw)
    assert {"row_id", "prediction", "lower_90", "upper_90", "model_version", "issue"} <= set(predictions.columns)

    tuned = json.loads(lake("tuned_model"))
    champion = json.loads(lake("champion"))
    assert tuned["trials_this_run"] == FIRST_TRIALS and tuned["study"].startswith("bodyfat-")
    assert champion["decision"] == "promoted" and champion["champion_version"] == tuned["model_version"]
    assert set(predictions["model_version"].astype(str)) == {str(champion["champion_version"])}


def test_dagster_runs_and_events_are_in_postgres(production_stack: ProductionStack, first_runs) -> None:
    db, run_ids = production_stack.dagster_db, first_runs["run_ids"]
    runs = [row for run_id in run_ids
            for row in query(db, "SELECT run_id, status FROM runs WHERE run_id = :id", id=run_id)]
    assert sorted((r.run_id, r.status) for r in runs) == sorted((run_id, "SUCCESS") for run_id in run_ids)
    materialized = [
        AssetKey.from_db_string(row.asset_key).to_user_string()
        for run_id in run_ids
        for row in query(db, "SELECT asset_key FROM event_logs WHERE run_id = :id "
                             "AND dagster_event_type = 'ASSET_MATERIALIZATION'", id=run_id)]
    defs = definitions.build_definitions(Settings.from_env())
    assert sorted(materialized) == sorted(materializable_asset_names(defs))
    checks = sum(query(db, "SELECT count(*) AS n FROM event_logs WHERE run_id = :id "
                           "AND dagster_event_type = 'ASSET_CHECK_EVALUATION'", id=run_id)[0].n for run_id in run_ids)
    assert checks == len(check_names(defs))


def test_mlflow_runs_versions_and_artifacts(production_stack: ProductionStack, first_runs, seed_frame) -> None:
    db = production_stack.mlflow_db
    runs = query(db, "SELECT r.run_uuid, r.status, r.artifact_uri FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
                     "WHERE t.key = 'dagster_run_id' AND t.value = :id", id=first_runs["pipeline_run_id"])
    assert len(runs) == 1 + FIRST_TRIALS and {r.status for r in runs} == {"FINISHED"}
    assert all(r.artifact_uri.startswith("mlflow-artifacts:/") for r in runs), "artifacts go through the server"
    versions = query(db, "SELECT name, version FROM model_versions")
    assert [(v.name, v.version) for v in versions] == [("bodyfat", 1)]
    aliases = {r.alias: r.version for r in query(db, "SELECT alias, version FROM registered_model_aliases "
                                                     "WHERE name = 'bodyfat'")}
    assert aliases == {"champion": 1, "challenger": 1}

    listed = production_stack.s3().list_objects_v2(Bucket=production_stack.mlflow_bucket, Prefix="artifacts/")
    keys = [obj["Key"] for obj in listed.get("Contents", [])]
    assert any(k.endswith("/MLmodel") for k in keys), keys
    assert any(k.endswith("/model.skops") for k in keys), keys
    assert any(k.endswith("/figures/residuals.png") for k in keys), keys

    mlflow.set_tracking_uri(production_stack.mlflow_url)
    model = mlflow.sklearn.load_model("models:/bodyfat@champion")
    predictions = model.predict(seed_frame[list(FEATURE_NAMES)].head(20))
    assert predictions.shape == (20,) and 2 < predictions.mean() < 40


@pytest.fixture(scope="module")
def second_run(production_stack: ProductionStack, instance: DagsterInstance, first_runs) -> TunedModel:
    """`tuned_model` alone again, through Dagster and the production resources, with a few more trials."""
    config = {"ops": {"tuned_model": {"config": {"n_trials": SECOND_TRIALS}}}}
    return run(instance, run_config=config, assets=["tuned_model"]).output_for_node("tuned_model")


def test_second_tuning_run_resumes_the_study(production_stack: ProductionStack, first_runs, second_run) -> None:
    study_name = first_runs["tuned_model"].study
    assert second_run.study == study_name
    assert [s.study_name for s in optuna.get_all_study_summaries(storage=production_stack.optuna_db)] == [study_name]
    assert second_run.trials_this_run == SECOND_TRIALS
    assert second_run.trials_in_study == FIRST_TRIALS + SECOND_TRIALS
    rows = query(production_stack.optuna_db, "SELECT count(*) AS n FROM trials t JOIN studies s USING (study_id) "
                                             "WHERE s.study_name = :name", name=study_name)
    assert rows[0].n == FIRST_TRIALS + SECOND_TRIALS


def test_two_worker_processes_add_up_their_trials(production_stack: ProductionStack, second_run) -> None:
    """Two `python -m bodyfat_assets.tuning_worker` processes join the study at the same time."""
    study_name = second_run.study
    before = second_run.trials_in_study
    workers = {}
    for name in ("worker-a", "worker-b"):
        cmd = [sys.executable, "-m", "bodyfat_assets.tuning_worker", "--trials", str(WORKER_TRIALS),
               "--worker-id", name]
        workers[name] = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
    summaries = {}
    for name, proc in workers.items():
        try:
            out, err = proc.communicate(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err[-3000:]
        summaries[name] = json.loads(out.strip().splitlines()[-1])
    assert {s["study"] for s in summaries.values()} == {study_name}
    assert all(s["trials_this_run"] == WORKER_TRIALS for s in summaries.values())

    study = optuna.load_study(study_name=study_name, storage=production_stack.optuna_db)
    assert len(study.trials) == before + 2 * WORKER_TRIALS
    by_worker: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for trial in study.trials:
        # tuned_model tags its trials "dagster:<run id>"; the workers use their --worker-id.
        by_worker.setdefault(trial.user_attrs["worker"].split(":")[0], []).append(trial)
    assert {k: len(v) for k, v in by_worker.items()} == {"dagster": before, "worker-a": WORKER_TRIALS,
                                                         "worker-b": WORKER_TRIALS}
    assert sorted(t.number for t in study.trials) == list(range(before + 2 * WORKER_TRIALS))
    # No assertion on wall-clock overlap: on a fast machine each worker's trials take < 0.4 s and the two processes
    # can run one after the other. What matters holds either way, read from the trial records: both
    # workers' trials finished, each under its own id, with distinct numbers in one study.
    assert all(t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
               for name in ("worker-a", "worker-b") for t in by_worker[name])


def test_multiprocess_executor_reaches_the_services(production_stack: ProductionStack, instance: DagsterInstance,
                                                    first_runs) -> None:
    """The job's own executor (a process per step, environment inherited) on the smallest job: raw_bodyfat, its
    check and live_performance. `execute_job` needs a reconstructable job; `execute_in_process` would ignore the
    executor."""
    job = reconstructable(production_ingest)
    with execute_job(job, instance=instance, tags={"dagster/partition": SEED}) as result:
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        run_id = result.run_id
    workers = query(production_stack.dagster_db, "SELECT count(*) AS n FROM event_logs WHERE run_id = :id "
                                                 "AND dagster_event_type = 'STEP_WORKER_STARTED'", id=run_id)
    steps = query(production_stack.dagster_db, "SELECT count(*) AS n FROM event_logs WHERE run_id = :id "
                                               "AND dagster_event_type = 'STEP_START'", id=run_id)
    assert workers[0].n == steps[0].n >= 3, "one process per step (raw_bodyfat, raw_schema, live_performance)"
