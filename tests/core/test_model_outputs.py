"""`tuned_model` and `champion` hand typed records downstream: stored as JSON in the lake, read back as the model
the reading asset or check declares. Asset keys are declared once (asset_keys.py) and are the definitions' keys."""

import dagster as dg

from bodyfat_assets import asset_keys
from bodyfat_assets.core.model_outputs import ChampionOutcome
from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.io_manager import LakeIOManager

OUTCOME = ChampionOutcome(model_name="bodyfat", champion_version="3", challenger_version="3", decision="promoted",
                          reason="no champion yet", challenger_test_rmse=4.2, champion_test_rmse=None,
                          previous_champion_version=None, challenger_holdout_rmse=None, champion_holdout_rmse=None,
                          champion_rmse_now=float("nan"))


def test_a_typed_record_round_trips_through_the_lake_into_assets_and_checks(tmp_path):
    seen: list[object] = []

    @dg.asset(key=asset_keys.CHAMPION)
    def champion() -> ChampionOutcome:
        return OUTCOME

    @dg.asset
    def downstream(champion: ChampionOutcome) -> None:
        seen.append(champion)

    @dg.asset_check(asset=asset_keys.CHAMPION)
    def check(champion: ChampionOutcome) -> dg.AssetCheckResult:
        seen.append(champion)
        return dg.AssetCheckResult(passed=True)

    io_manager = LakeIOManager(lake=LakeGroup(url=str(tmp_path)))
    assert dg.materialize([champion, downstream, check], resources={"io_manager": io_manager}).success
    assert dg.materialize([champion.to_source_asset(), downstream], resources={"io_manager": io_manager}).success
    expected = OUTCOME.model_copy(update={"champion_rmse_now": None})  # JSON has no NaN: an unmeasured RMSE
    assert seen == [expected, expected, expected]


def test_every_declared_key_is_a_definitions_key(tmp_path):
    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.settings import Settings

    graph = build_definitions(Settings.from_env({"BODYFAT_HOME": str(tmp_path)})).resolve_asset_graph()
    declared = {value for value in vars(asset_keys).values() if isinstance(value, dg.AssetKey)}
    assert declared == set(graph.get_all_asset_keys())
