import pandas as pd
import pytest

from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.settings import BODYFAT_CSV
from tests.support.sensor_harness import Harness


@pytest.fixture(scope="session")
def labeled_frame() -> pd.DataFrame:
    """20 clean seed rows without Density, as a sender would deliver a labeled batch."""
    return pd.read_csv(BODYFAT_CSV).drop(columns=["Density"]).iloc[:20].reset_index(drop=True)


@pytest.fixture
def harness(tmp_path) -> Harness:
    """A sensor harness whose first tick has registered the seed partitions."""
    h = Harness(tmp_path)
    first = h.tick()
    assert [r.partition_key for r in first.run_requests] == [SEED_PARTITION]
    return h
