"""Settings reach Dagster once: each resource holds its settings groups as config mirrored from their declarations,
and the lake's key layout is the one the IO manager writes."""

import dagster as dg
import pandas as pd

from bodyfat_assets.group_config import LakeGroup
from bodyfat_assets.io_manager import LakeIOManager
from bodyfat_assets.lake import Lake
from bodyfat_assets.resources import resources_for
from bodyfat_assets.settings import Settings


def test_every_groups_config_holds_the_groups_values(tmp_path):
    settings = Settings.from_env({"BODYFAT_HOME": str(tmp_path), "BODYFAT_CV_FOLDS": "3", "BODYFAT_FAMILIES": "ridge",
                                  "BODYFAT_PROMOTION_MARGIN": "0.5", "BODYFAT_REQUEUE_MAX": "2"})
    resources = resources_for(settings)
    pipeline, landing = resources["pipeline"], resources["landing"]
    assert pipeline.tuning.build() == settings.tuning and pipeline.promotion.build() == settings.promotion
    assert landing.landing.build() == settings.landing and landing.lake.build() == settings.lake
    assert resources["health"].health.build() == settings.health
    assert resources["tracking"].tracking.build() == settings.tracking_config()
    assert pipeline.tuning_config() == settings.tuning.tuning_config()
    assert (pipeline.tuning_config().cv_folds, pipeline.tuning_config().families) == (3, ("ridge",))


def test_the_io_manager_writes_where_the_lake_says(tmp_path):
    @dg.asset(partitions_def=dg.StaticPartitionsDefinition(["a"]))
    def partitioned() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    lake = Lake(url=str(tmp_path))
    assert dg.materialize([partitioned], partition_key="a",
                          resources={"io_manager": LakeIOManager(lake=LakeGroup.of(lake))}).success
    assert lake.read_frame(Lake.key_for(["partitioned"], "a"))["x"].tolist() == [1]
