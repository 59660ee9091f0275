import pandas as pd
import pytest

from bodyfat_assets.settings import SEED_DATASET


@pytest.fixture(scope="session")
def labeled_frame() -> pd.DataFrame:
    """20 clean seed rows without Density, as a sender would deliver a labeled batch."""
    return pd.read_csv(SEED_DATASET).drop(columns=["Density"]).iloc[:20].reset_index(drop=True)
