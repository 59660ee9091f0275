"""The jobs: ingest one labeled file, retrain, score one scoring file (the sensors launch these), and the health
report."""

from dagster import AssetSelection, define_asset_job

INGEST_JOB = "ingest_labeled_file"
PIPELINE_JOB = "bodyfat_pipeline"
SCORE_JOB = "score_batch"
HEALTH_JOB = "health_report"

ingest_labeled_file = define_asset_job(
    INGEST_JOB, selection=AssetSelection.assets("raw_bodyfat", "live_performance"),
    description="Ingest one labeled file (a raw_bodyfat partition), move it to landing/processed/, and measure the "
                "champion of the moment on it (live_performance) before it joins training.")
bodyfat_pipeline = define_asset_job(
    PIPELINE_JOB, selection=AssetSelection.assets("cleaned_bodyfat", "quarantined_bodyfat", "bodyfat_splits",
                                                  "tuned_model", "champion"),
    description="Retrain on every ingested file: clean, split, tune, promote (the gate decides).")
score_batch = define_asset_job(
    SCORE_JOB, selection=AssetSelection.assets("batch_predictions"),
    description="Score one scoring file (a batch_predictions partition) with the champion.")
health_report = define_asset_job(
    HEALTH_JOB, selection=AssetSelection.assets("model_health"),
    description="Summarise live performance over every labeled file (Declarative Automation also runs it after each).")
