"""Warming a model before it takes traffic: it must answer a warm-up batch (the model card's input example, else the
contract's example row) with finite predictions, one per row, before the store swaps it in.

A freshly loaded HistGradientBoosting pipeline took 216, 167 and 138 ms for its first three 5-row predictions, then
2 ms (thread pools and lazy imports starting, on the busy 2-core project machine): without a warm-up those first
calls land on the first requests after a swap. The load's own smoke check predicts one synthetic row; the warm-up
predicts the rows the model was logged with, through the path requests take (`LoadedModel.predict`).
"""

from __future__ import annotations

import time

import numpy as np

from serving.loading import LoadedModel, ModelError
from serving.schemas import EXAMPLE_RECORD


def warm_up(model: LoadedModel) -> tuple[int, float]:
    """(rows, seconds): the model answers its warm-up batch and a single row, or ModelError."""
    batch = model.example
    if batch is None:
        batch = np.array([[EXAMPLE_RECORD[name] for name in model.features]], dtype=np.float64)
    start = time.perf_counter()
    try:
        values = model.predict(batch)
        single = model.predict(batch[:1])
    except Exception as exc:  # any failure means the model cannot serve
        raise ModelError(f"warm-up prediction failed: {exc!r}") from exc
    if values.shape != (len(batch),) or single.shape != (1,) or not np.isfinite(values).all():
        raise ModelError(f"warm-up batch of {len(batch)} rows returned {values[:5]!r}")
    return len(batch), time.perf_counter() - start
