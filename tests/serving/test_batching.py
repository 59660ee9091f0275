"""MicroBatcher: concurrent single-row predictions share model calls without mixing up rows or models."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from serving.batching import MicroBatcher
from serving.model_store import LoadedModel


class CountingEstimator:
    """Predicts the first feature times `factor`; records the batch sizes it was called with."""

    def __init__(self, factor: float = 1.0, fail: bool = False) -> None:
        self.factor, self.fail, self.batch_sizes = factor, fail, []

    def predict(self, rows):
        self.batch_sizes.append(len(rows))
        if self.fail:
            raise RuntimeError("model exploded")
        return rows[:, 0] * self.factor


def model(estimator: CountingEstimator, version: str = "1") -> LoadedModel:
    return LoadedModel(name="m", version=version, source="registry", estimator=estimator, features=("Age",),
                       half_width=1.0)  # fmt: skip


async def _concurrently(batcher: MicroBatcher, calls: list[tuple[LoadedModel, float]]) -> list:
    batcher.start()
    try:
        tasks = [batcher.predict_one(m, np.array([[x]])) for m, x in calls]
        return await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await batcher.stop()


def test_concurrent_requests_share_calls_and_keep_their_rows() -> None:
    estimator = CountingEstimator()
    the_model = model(estimator)
    results = asyncio.run(_concurrently(MicroBatcher(), [(the_model, float(i)) for i in range(16)]))
    assert results == [float(i) for i in range(16)]
    assert sum(estimator.batch_sizes) == 16
    assert len(estimator.batch_sizes) < 16  # coalesced


def test_batches_respect_the_row_limit() -> None:
    estimator = CountingEstimator()
    the_model = model(estimator)
    results = asyncio.run(_concurrently(MicroBatcher(max_rows=4), [(the_model, float(i)) for i in range(10)]))
    assert results == [float(i) for i in range(10)]
    assert max(estimator.batch_sizes) <= 4


def test_requests_on_different_models_are_predicted_by_their_own_model() -> None:
    old, new = CountingEstimator(factor=1.0), CountingEstimator(factor=100.0)
    # Same model object for both "old" requests, as a swap leaves in-flight requests holding the old reference.
    old_model = model(old, "1")
    calls = [(old_model, 1.0), (model(new, "2"), 2.0), (old_model, 3.0)]
    assert asyncio.run(_concurrently(MicroBatcher(), calls)) == [1.0, 200.0, 3.0]


def test_a_failing_model_fails_its_requests_not_the_batcher() -> None:
    good, bad = model(CountingEstimator()), model(CountingEstimator(fail=True))

    async def scenario() -> tuple[list, float]:
        batcher = MicroBatcher()
        batcher.start()
        try:
            first = await asyncio.gather(
                batcher.predict_one(bad, np.array([[1.0]])), batcher.predict_one(good, np.array([[2.0]])),
                return_exceptions=True,
            )  # fmt: skip
            after = await batcher.predict_one(good, np.array([[5.0]]))  # the consumer survived
            return first, after
        finally:
            await batcher.stop()

    first, after = asyncio.run(scenario())
    assert isinstance(first[0], RuntimeError) and first[1] == 2.0
    assert after == 5.0


def test_unstarted_batcher_predicts_directly() -> None:
    estimator = CountingEstimator(factor=2.0)
    assert asyncio.run(MicroBatcher().predict_one(model(estimator), np.array([[3.0]]))) == pytest.approx(6.0)
