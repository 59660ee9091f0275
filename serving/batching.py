"""Micro-batching of concurrent single-row predictions.

For tree ensembles the cost of one sklearn `predict` call is mostly fixed per call (input validation, a Python-level
loop over ~100 trees), not per row: 16 rows cost little more than one. Under concurrent load, single-row requests
waiting on the event loop are therefore coalesced into one model call. No time window is added: the consumer takes
whatever is already queued when it runs, so an idle server predicts a lone request immediately, and a busy one
forms batches of the requests that arrived during the previous prediction.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import numpy as np

from serving.model_store import LoadedModel


class MicroBatcher:
    def __init__(self, max_rows: int = 64) -> None:
        self.max_rows = max_rows
        self._queue: asyncio.Queue[tuple[LoadedModel, np.ndarray, asyncio.Future[float]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.calls = 0  # model calls made, for tests and curiosity
        self.rows = 0

    def start(self) -> None:
        """Call from the serving event loop (the app's lifespan)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue = self._task = None

    async def predict_one(self, model: LoadedModel, row: np.ndarray) -> float:
        """Predict one row (shape (1, n_features)) with `model`, possibly together with concurrent requests."""
        if self._queue is None or self._task is None or self._task.done():
            return float(model.predict(row)[0])  # not started (e.g. no lifespan): no batching, same answer
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((model, row, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            items = [await self._queue.get()]
            while len(items) < self.max_rows and not self._queue.empty():
                items.append(self._queue.get_nowait())
            # Each request predicts with the model it started with, even if a swap happened while it queued.
            groups: dict[int, list[Any]] = {}
            for item in items:
                groups.setdefault(id(item[0]), []).append(item)
            for group in groups.values():
                self._predict_group(group)

    def _predict_group(self, group: list[tuple[LoadedModel, np.ndarray, asyncio.Future[float]]]) -> None:
        model = group[0][0]
        try:
            values = model.predict(np.vstack([row for _, row, _ in group]))
        except Exception as exc:  # a model failure is each waiting request's failure, never the batcher's
            for _, _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        self.calls += 1
        self.rows += len(group)
        for (_, _, future), value in zip(group, values, strict=True):
            if not future.done():  # the client may have gone away
                future.set_result(float(value))
