from pathlib import Path

import pandas as pd
import pytest

from bodyfat_assets.settings import SEED_DATASET


@pytest.fixture(scope="session")
def seed_frame() -> pd.DataFrame:
    return pd.read_csv(SEED_DATASET)


@pytest.fixture
def seed_path() -> Path:
    return SEED_DATASET
