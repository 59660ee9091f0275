"""The three jobs the sensors launch: ingest one labeled file, retrain, score one scoring file."""

from dagster import AssetSelection, define_asset_job

INGEST_JOB = "ingest_labeled_file"
PIPELINE_JOB = "bodyfat_pipeline"
SCORE_JOB = "score_batch"

ingest_labeled_file = define_asset_job(
    INGEST_JOB, selection=AssetSelection.assets("raw_bodyfat"),
    description="Ingest one labeled file (a raw_bodyfat partition) and move it to landing/processed/.")
bodyfat_pipeline = define_asset_job(
    PIPELINE_JOB, selection=AssetSelection.assets("cleaned_bodyfat", "quarantined_bodyfat", "bodyfat_splits",
                                                  "tuned_model", "champion"),
    description="Retrain on every ingested file: clean, split, tune, promote (the gate decides).")
score_batch = define_asset_job(
    SCORE_JOB, selection=AssetSelection.assets("batch_predictions"),
    description="Score one scoring file (a batch_predictions partition) with the champion.")
