"""The partitions and run tags that assets, checks, sensors and the CLI share: one file per partition."""

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition

LABELED_FILES = DynamicPartitionsDefinition(name="labeled_files")
"""raw_bodyfat partitions: `seed` (data/bodyfat.csv) and one per accepted file from landing/train/."""
SCORING_FILES = DynamicPartitionsDefinition(name="scoring_files")
"""batch_predictions partitions: `seed` and one per accepted file from landing/score/."""
LABELS_FILES = DynamicPartitionsDefinition(name="labels_files")
"""served_performance partitions: one per accepted file from landing/labels/ (no seed: nothing was served for it)."""
SERVED_DAYS = DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
"""served_traffic partitions: one per UTC day of the prediction log (its objects are under date=YYYY-MM-DD/)."""
LANDING_NAME_TAG = "bodyfat/landing_name"
"""Run tag set by the landing sensor: the file's name in landing/<kind>/, so the run reads exactly that file."""
TUNING_POOL = "tuning"
"""The Dagster pool of tuned_model: its limit (1, the instance's `concurrency.pools.default_limit`) keeps two
retraining runs from tuning at once, each search taking both cores."""
SCORING_POOL = "scoring"
"""The Dagster pool of batch_predictions: set below the instance's run limit so a burst of scoring files always
leaves a slot to retraining (docs/deployment.md, "Pools")."""
# Tags Dagster sets on runs, not exported as public constants: read by the landing sensor and its requeue step.
PARTITION_TAG = "dagster/partition"
WILL_RETRY_TAG = "dagster/will_retry"
"""On a failed run: whether Dagster's run retries will re-execute it."""
