"""The shadow challenger: with `BODYFAT_SERVING_SHADOW_CHALLENGER` on, the API also follows the `challenger` alias
and scores every logged prediction's rows with it, so the champion step can compare both models' error on the same
served rows once their labels arrive. Its prediction is recorded beside the champion's and never returned.

The challenger is followed by a second `ModelStore` (the champion's polling, warm-up and atomic swap), without a
fallback: no alias, or an alias naming the champion's version, means no challenger. Scoring runs in the prediction
log's writer thread, once per entry, before the entry's first write attempt: one model call for everything queued
since the last write, never on a request. A challenger that fails or answers non-finite values is counted
(`bodyfat_shadow_failures_total`, rows) and its columns stay null; nothing is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import numpy as np
from bodyfat_contract import FEATURE_NAMES
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter

from serving.loading import LoadedModel, ModelSource
from serving.prediction_log import Entry, received_matrix
from serving.store import ModelStore

log = logging.getLogger("serving.shadow")
_CONTRACT_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


class ChallengerSource:
    """The challenger alias as a `ModelSource` for a `ModelStore`: "none" while it names the version the champion
    store serves, so that version is never loaded, warmed up and held twice."""

    def __init__(self, registry: ModelSource, champion: Callable[[], LoadedModel | None]) -> None:
        self.registry, self.champion = registry, champion

    def champion_version(self) -> str | None:
        """The challenger's version (the store's protocol calls the followed alias's version this)."""
        version = self.registry.champion_version()
        serving = self.champion()
        if serving is not None and serving.source == "registry" and serving.version == version:
            return None
        return version

    def load(self, version: str) -> LoadedModel:
        return self.registry.load(version)


class Shadow:
    """Scores logged entries with the challenger `store` holds. Called by the prediction log's writer only."""

    def __init__(self, store: ModelStore, registry: CollectorRegistry) -> None:
        self.store = store
        self.scored = Counter("bodyfat_shadow_predictions", "Logged rows the shadow challenger scored",
                              registry=registry)  # fmt: skip
        self.failures = Counter("bodyfat_shadow_failures", "Logged rows the shadow challenger failed to score",
                                registry=registry)  # fmt: skip
        self.scored_rows = self.failed_rows = 0
        self.last_error: str | None = None

    def __call__(self, entries: Sequence[Entry]) -> None:
        """Attach the challenger's predictions to the entries a different model answered. Never raises."""
        challenger = self.store.current
        for e in entries:
            e.shadowed = True
        if challenger is None:
            return
        # The champion of the moment may still be the challenger's version for a poll interval after a promotion.
        todo = [e for e in entries if e.model.source != "registry" or e.model.version != challenger.version]
        if not todo:
            return
        try:
            rows = received_matrix(todo)
            values = challenger.predict(rows[:, [_CONTRACT_INDEX[f] for f in challenger.features]])
            values = np.asarray(values, dtype=np.float64).reshape(len(rows))
        except Exception as exc:  # a failing challenger costs its columns, never the log or a request
            self._failed(sum(e.n for e in todo), f"{type(exc).__name__}: {str(exc)[:200]}", challenger.version)
            return
        bad = int((~np.isfinite(values)).sum())
        if bad:
            values = np.where(np.isfinite(values), values, np.nan)
            self._failed(bad, f"{bad} non-finite predictions", challenger.version)
        self.scored.inc(len(rows) - bad)
        self.scored_rows += len(rows) - bad
        start = 0
        for e in todo:
            e.shadow_version = challenger.version
            e.shadow_values = float(values[start]) if isinstance(e.ids, str) else values[start:start + e.n]
            start += e.n

    def _failed(self, rows: int, error: str, version: str) -> None:
        self.failures.inc(rows)
        self.failed_rows += rows
        if self.last_error is None:
            log.warning("shadow challenger version %s failed on %d logged rows: %s", version, rows, error)
        self.last_error = error

    def details(self) -> dict[str, Any]:
        """For /ready: the challenger being shadowed (None: no alias, or it names the champion) and its counts."""
        model, last = self.store.current, self.store.last_outcome
        return {
            "enabled": True, "version": model.version if model else None, "warming": self.store.warming,
            "last_check": None if last is None else {"outcome": last.outcome, "detail": last.detail},
            "scored": self.scored_rows, "failures": self.failed_rows, "last_error": self.last_error,
        }  # fmt: skip


async def get_shadow(request: Request) -> Shadow | None:
    return request.app.state.shadow


ShadowDep = Annotated[Shadow | None, Depends(get_shadow)]
