from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from bodyfat_assets.settings import BODYFAT_CSV
from tests.support.schedule import LONGEST_FILES_FIRST


@pytest.fixture(scope="session")
def seed_frame() -> pd.DataFrame:
    return pd.read_csv(BODYFAT_CSV)


@pytest.fixture
def seed_path() -> Path:
    return BODYFAT_CSV


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first, each followed by one of the other files. `make test` hands whole files to workers in
    collection order (`--dist loadfile --no-loadscope-reorder`; xdist's default reorder by test count put the long
    one-test files last, and test_worker_killed.py started 45 minutes into a run). A worker is handed another file
    as soon as it has two tests or fewer left, so a long one-test file always brings the next file in the order
    along: a short one, not another long one queued behind it."""
    rank = {path: i for i, path in enumerate(LONGEST_FILES_FIRST)}
    files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in items))
    long_files = sorted((f for f in files if f in rank), key=rank.__getitem__)
    short_files = [f for f in files if f not in rank]
    order = [f for pair in zip(long_files, short_files, strict=False) for f in pair]
    order += long_files[len(order) // 2:] + short_files[len(order) // 2:]
    position = {path: i for i, path in enumerate(order)}
    items.sort(key=lambda item: position[item.nodeid.split("::", 1)[0]])
    # pytest-xdist runs one item per node id: items sharing one (schemathesis's `schema.parametrize()` gave 19 the
    # same) silently run once under `make test`. Refuse the session instead.
    shared = sorted(nodeid for nodeid, count in Counter(item.nodeid for item in items).items() if count > 1)
    if shared:
        raise pytest.UsageError(f"test items share node ids (pytest-xdist would run one of each): {shared}")
