"""What the definitions declare, so tests derive their expectations instead of hard-coding counts."""

from dagster import Definitions

from bodyfat_assets.defs.data.assets import OPERATOR_ONLY_TAG


def materializable_asset_names(defs: Definitions) -> set[str]:
    """Assets the loop's runs materialize (the observed landing_zone spec is not one of them, nor an asset only an
    operator materializes, such as withdrawn_labels)."""
    graph = defs.resolve_asset_graph()
    return {key.to_user_string() for key in graph.materializable_asset_keys
            if OPERATOR_ONLY_TAG not in graph.get(key).tags}


def check_names(defs: Definitions) -> set[str]:
    """`<asset>:<check>` for every asset check, however the definitions collected them."""
    return {f"{key.asset_key.to_user_string()}:{key.name}" for key in defs.resolve_asset_graph().asset_check_keys}
