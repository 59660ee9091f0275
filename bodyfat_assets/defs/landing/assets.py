"""The landing zone as an observed asset: not materialized, the landing sensor records what it accepted and why."""

from dagster import AssetSpec

from bodyfat_assets.asset_keys import LANDING_ZONE

landing_zone = AssetSpec(
    LANDING_ZONE, group_name="data",
    description="Files arriving in the lake's landing/ prefix (docs/landing.md). Not materialized: the landing "
                "sensor records an observation per tick with what it accepted and rejected, and why.")
