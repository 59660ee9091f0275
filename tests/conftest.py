from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bodyfat_assets.settings import BODYFAT_CSV


@pytest.fixture(scope="session")
def seed_frame() -> pd.DataFrame:
    return pd.read_csv(BODYFAT_CSV)


@pytest.fixture
def seed_path() -> Path:
    return BODYFAT_CSV


LONGEST_FILES_FIRST = (
    # Seconds each file took in a `make test` of 23:47 on the 2-core machine (4 workers, load 8-20), longest first.
    "tests/landing/test_loop_e2e.py",  # 932
    "tests/deploy/test_stack_pipeline.py",  # 406
    "tests/landing/test_requeue_e2e.py",  # 403
    "tests/landing/test_poisoned_labels_e2e.py",  # 343
    "tests/integration/test_celery_launcher.py",  # 258
    "tests/landing/test_worker_killed.py",  # 226
    "tests/pipeline/test_materialize.py",  # 220
    "tests/landing/test_failed_ingestion.py",  # 197
    "tests/deploy/test_stack_first_hour.py",  # 187
    "tests/pipeline/test_demo_cli.py",  # 145
    "tests/integration/test_production.py",  # 140
    "tests/serving/test_registry_integration.py",  # 114
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first among files with as many tests: pytest-xdist (3.8) hands `--dist loadfile` work out by
    test count first, so this order breaks its ties. Handing out every long file first (`--no-loadscope-reorder`)
    was tried and measured slower: four daemon loops at once on two cores, 35:52 against 25:08 (2026-12-07)."""
    rank = {path: i for i, path in enumerate(LONGEST_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
    # pytest-xdist runs one item per node id: items sharing one (schemathesis's `schema.parametrize()` gave 19 the
    # same) silently run once under `make test`. Refuse the session instead.
    shared = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if shared:
        raise pytest.UsageError(f"test items share node ids (pytest-xdist would run one of each): {shared}")
