"""What the definitions declare, so tests derive their expectations instead of hard-coding counts."""

from dagster import Definitions


def materializable_asset_names(defs: Definitions) -> set[str]:
    """Assets a run can materialize (the observed landing_zone spec is not one of them)."""
    return {key.to_user_string() for key in defs.resolve_asset_graph().materializable_asset_keys}


def check_names(defs: Definitions) -> set[str]:
    """`<asset>:<check>` for every asset check, however the definitions collected them."""
    return {f"{key.asset_key.to_user_string()}:{key.name}" for key in defs.resolve_asset_graph().asset_check_keys}
