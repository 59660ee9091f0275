"""The jobs: ingest one labeled file, retrain, score one scoring file (the sensors launch these), and the health
report."""

from dagster import AssetSelection, Backoff, Jitter, RetryPolicy, define_asset_job

from bodyfat_assets.asset_keys import (
    BATCH_PREDICTIONS,
    BODYFAT_SPLITS,
    CHAMPION,
    CLEANED_BODYFAT,
    LIVE_PERFORMANCE,
    MODEL_HEALTH,
    QUARANTINED_BODYFAT,
    RAW_BODYFAT,
    SERVED_PERFORMANCE,
    TUNED_MODEL,
    WITHDRAWN_LABELS,
)

INGEST_JOB = "ingest_labeled_file"
PIPELINE_JOB = "bodyfat_pipeline"
SCORE_JOB = "score_batch"
HEALTH_JOB = "health_report"
LABELS_JOB = "measure_served_labels"
WITHDRAW_JOB = "withdraw_labeled_file"

STEP_RETRY_POLICY = RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS)
"""Every step of these jobs reads or writes the lake (S3 in production) or MLflow: a failing step is retried twice,
after about 10 s and 20 s, inside its run. A step that raises `Failure(allow_retries=False)` (a file that no longer
passes the contract, a partition whose stored data is missing) fails at once: retrying cannot fix it. A dead run
worker is retried by the instance's `run_retries` instead (dagster.yaml)."""

INGEST_PRIORITY = {"dagster/priority": "1"}
"""Dagster's documented run-queue priority (default 0): queued ingestion runs (small, a few seconds of work for a
burst of files) start before queued scoring runs, of which a promotion queues one per scoring file. A scoring run
already running still holds its slot: runs are not pre-empted."""

ingest_labeled_file = define_asset_job(
    INGEST_JOB, selection=AssetSelection.assets(RAW_BODYFAT, LIVE_PERFORMANCE), op_retry_policy=STEP_RETRY_POLICY,
    tags=INGEST_PRIORITY,
    description="Ingest one labeled file (a raw_bodyfat partition), move it to landing/processed/, and measure the "
                "champion of the moment on it (live_performance) before it joins training.")
bodyfat_pipeline = define_asset_job(
    PIPELINE_JOB, selection=AssetSelection.assets(CLEANED_BODYFAT, QUARANTINED_BODYFAT, BODYFAT_SPLITS,
                                                  TUNED_MODEL, CHAMPION),
    op_retry_policy=STEP_RETRY_POLICY,
    description="Retrain on every ingested file: clean, split, tune, promote (the gate decides).")
score_batch = define_asset_job(
    SCORE_JOB, selection=AssetSelection.assets(BATCH_PREDICTIONS), op_retry_policy=STEP_RETRY_POLICY,
    description="Score one scoring file (a batch_predictions partition) with the champion.")
measure_served_labels = define_asset_job(
    LABELS_JOB, selection=AssetSelection.assets(SERVED_PERFORMANCE), op_retry_policy=STEP_RETRY_POLICY,
    description="Join one labels file (a served_performance partition) to the prediction log, move it to "
                "landing/processed/labels/, and measure what the API served, per model version and day.")
health_report = define_asset_job(
    HEALTH_JOB, selection=AssetSelection.assets(MODEL_HEALTH),
    description="Summarise live performance over every labeled file (Declarative Automation also runs it after each).")
withdraw_labeled_file = define_asset_job(
    WITHDRAW_JOB, selection=AssetSelection.assets(WITHDRAWN_LABELS),
    description="Take a labeled file back: pick its partition, give `reason` in the run config. Its rows are "
                "quarantined (rule `withdrawn`) by the next retrain; the raw partition stays for audit.")
