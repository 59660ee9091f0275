"""Shared by the serving tests: an in-memory model source and registry-like models made from the fallback."""

from __future__ import annotations

import json
import threading

import numpy as np

from serving.model_store import LoadedModel, from_card, load_fallback
from serving.settings import FALLBACK_DIR


class FakeSource:
    """A registry in memory: `champion` is the aliased version, `models` what each version loads to."""

    def __init__(self, models: dict[str, LoadedModel] | None = None, champion: str | None = None) -> None:
        self.models = models or {}
        self.champion = champion
        self.down = False
        self.loads: list[str] = []
        self.lock = threading.Lock()

    def champion_version(self) -> str | None:
        if self.down:
            raise ConnectionError("registry unreachable")
        return self.champion

    def load(self, version: str) -> LoadedModel:
        self.loads.append(version)
        return self.models[version]


def registry_model(version: str, offset: float = 0.0, half_width: float = 5.0) -> LoadedModel:
    """The fallback estimator under a registry identity, shifted by `offset` so versions are distinguishable."""
    base = load_fallback(FALLBACK_DIR)
    fallback_card = json.loads((FALLBACK_DIR / "card.json").read_text())

    class Shifted:
        def predict(self, rows: np.ndarray) -> np.ndarray:
            return base.estimator.predict(rows) + offset

    card = {"features": list(base.features), "interval_half_width_90": half_width, "test_rmse": 4.0,
            "test_mae": 3.0, "test_r2": 0.7, "family": "ridge", "trained_at": "2026-01-01T00:00:00+00:00",
            "run_id": f"run{version}", "training_population": fallback_card["training_population"]}  # fmt: skip
    return from_card(Shifted(), card, name="bodyfat", version=version, alias="champion", source="registry")
