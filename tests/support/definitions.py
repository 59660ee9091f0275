"""What the definitions declare, so tests derive their expectations instead of hard-coding counts."""

from dagster import Definitions

from bodyfat_assets.asset_keys import SERVED_PERFORMANCE, SERVED_TRAFFIC
from bodyfat_assets.defs.data.assets import OPERATOR_ONLY_TAG

SERVED_ONLY = {SERVED_PERFORMANCE, SERVED_TRAFFIC}
"""Assets only the API's served traffic materializes (a labels file, a day of the prediction log): no seed run does."""


def materializable_asset_names(defs: Definitions) -> set[str]:
    """Assets the loop's seed runs materialize (the observed landing_zone spec is not one of them, nor an asset only
    an operator materializes, such as withdrawn_labels, nor the served-traffic assets)."""
    graph = defs.resolve_asset_graph()
    return {key.to_user_string() for key in graph.materializable_asset_keys
            if OPERATOR_ONLY_TAG not in graph.get(key).tags and key not in SERVED_ONLY}


def check_names(defs: Definitions) -> set[str]:
    """`<asset>:<check>` for every asset check the seed runs evaluate (not those of the served-traffic assets)."""
    return {f"{key.asset_key.to_user_string()}:{key.name}" for key in defs.resolve_asset_graph().asset_check_keys
            if key.asset_key not in SERVED_ONLY}
