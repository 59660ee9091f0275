"""The Dagster run tags the project still relies on because Dagster 1.13 has no public API for them (named in
bodyfat_assets/partitions.py), pinned against the installed Dagster: a rename fails here, not in a loaded daemon."""

from dagster._core.storage import tags as dagster_tags

from bodyfat_assets import partitions


def test_the_partition_range_tags_are_dagsters():
    assert partitions.PARTITION_RANGE_START_TAG == dagster_tags.ASSET_PARTITION_RANGE_START_TAG
    assert partitions.PARTITION_RANGE_END_TAG == dagster_tags.ASSET_PARTITION_RANGE_END_TAG


def test_the_run_retry_tag_is_dagsters():
    assert partitions.WILL_RETRY_TAG == dagster_tags.WILL_RETRY_TAG
