"""Batches predict on the process's single OpenMP thread: switching a large tree-model batch to every core made it
slower on a busy machine (1,863 ms median against 332 ms with the switch off) and starved the event
loop. This test replaced the one that asserted the switch."""

import numpy as np
import pytest
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME
from threadpoolctl import threadpool_info, threadpool_limits

from serving.model_store import LoadedModel
from serving.routes.predict import predict_rows
from serving.schemas import ColumnarBatch


class ThreadSpy:
    """An estimator that records how many OpenMP threads it was allowed."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def predict(self, rows: np.ndarray) -> np.ndarray:
        self.seen.append(max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"), default=0))
        return np.zeros(len(rows))


def columns(n: int) -> ColumnarBatch:
    middle = {name: (FEATURES_BY_NAME[name].low + FEATURES_BY_NAME[name].high) / 2 for name in FEATURE_NAMES}
    return ColumnarBatch(columns={name: [value] * n for name, value in middle.items()})


@pytest.fixture
def one_thread():
    if not any(p["user_api"] == "openmp" for p in threadpool_info()):
        pytest.skip("no OpenMP runtime loaded")
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def test_large_tree_batches_stay_on_one_openmp_thread(one_thread, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    spy = ThreadSpy()
    model = LoadedModel(name="m", version="1", source="registry", estimator=spy, features=FEATURE_NAMES,
                        half_width=1.0)
    predict_rows(model, columns(10))
    predict_rows(model, columns(10_000))
    assert spy.seen == [1, 1]
