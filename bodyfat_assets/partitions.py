"""The partitions and run tags that assets, checks, sensors and the CLI share: one file per partition."""

import json
from collections.abc import Mapping

from dagster import DailyPartitionsDefinition, DynamicPartitionsDefinition

LABELED_FILES = DynamicPartitionsDefinition(name="labeled_files")
"""raw_bodyfat partitions: `seed` (BODYFAT_SEED_DATASET, data/bodyfat.csv by default) and one per accepted file from
landing/train/."""
SCORING_FILES = DynamicPartitionsDefinition(name="scoring_files")
"""batch_predictions partitions: `seed` and one per accepted file from landing/score/."""
LANDED_FILES_TAG = "bodyfat/landed_files"
"""Run tag set by the landing sensor on every run it asks for: partition key → the file's name in landing/<kind>/
(JSON), so the run reads exactly those files, and the sensor knows which files a queued or failed run holds."""
LABELS_FILES = DynamicPartitionsDefinition(name="labels_files")
"""served_performance partitions: one per accepted file from landing/labels/ (no seed: nothing was served for it)."""
SERVED_DAYS = DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")
"""served_traffic partitions: one per UTC day of the prediction log (its objects are under date=YYYY-MM-DD/)."""
TUNING_POOL = "tuning"
"""The Dagster pool of tuned_model: its limit (1, the instance's `concurrency.pools.default_limit`) keeps two
retraining runs from tuning at once, each search taking both cores."""
SCORING_POOL = "scoring"
"""The Dagster pool of batch_predictions: set below the instance's run limit so a burst of scoring files always
leaves a slot to retraining (docs/deployment.md, "Pools")."""
# Dagster 1.13 has no public way for a sensor to ask for one run over several partitions (RunRequest takes one
# partition_key; RunRequest.for_asset_graph_subset is private and goes through the backfill daemon): these run tags
# are how Dagster's own backfills do it. tests/landing/test_dagster_tags.py pins them against the installed Dagster.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


def landed_files_tags(files: Mapping[str, str]) -> dict[str, str]:
    """The run tag naming the landed file behind each partition of a run (partition key → landing name)."""
    return {LANDED_FILES_TAG: json.dumps(dict(files), separators=(",", ":"))}


def landed_files(tags: Mapping[str, str]) -> dict[str, str]:
    """Partition key → landing name, from a run's tags; empty for a run the landing sensor did not ask for."""
    raw = tags.get(LANDED_FILES_TAG)
    return dict(json.loads(raw)) if raw else {}


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """The tags that make a run of a partitioned job cover the partitions from `first` to `last`, in order."""
    return {PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last}


# Dagster's run retries (dagster.yaml `run_retries`) keep this only in a run tag: no public API says whether a failed
# run will be retried. Pinned by tests/landing/test_dagster_tags.py.
WILL_RETRY_TAG = "dagster/will_retry"
"""On a failed run: whether Dagster's run retries will re-execute it."""
