"""What the served model sees, as Prometheus histograms binned with its own training data: each input feature and
the predictions, plus a counter of inputs outside the training range by feature.

A custom collector over numpy counts instead of prometheus_client.Histogram: a 10,000-row batch is 130,000
observations, about 0.2 s through `Histogram.observe` and under a millisecond through one `np.searchsorted` per
column. Bins come from the model card's `training_profile` (bodyfat_contract.training_profile); when the served
version changes the counts restart under the new `model_version` label (Prometheus treats it as a reset).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from bodyfat_contract import TARGET
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class _Bins:
    def __init__(self, edges: Sequence[float]) -> None:
        self.edges = np.asarray(edges, dtype=float)  # upper bounds; +Inf is implicit
        self.counts = np.zeros(len(self.edges) + 1, dtype=np.int64)
        self.total = 0.0

    def observe(self, values: np.ndarray) -> None:
        np.add.at(self.counts, np.searchsorted(self.edges, values, side="left"), 1)
        self.total += float(values.sum())

    def buckets(self) -> list[tuple[str, float]]:
        cumulative = np.cumsum(self.counts)
        return [*((f"{edge:g}", float(c)) for edge, c in zip(self.edges, cumulative[:-1], strict=True)),
                ("+Inf", float(cumulative[-1]))]


class DistributionMetrics(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._version = ""
        self._features: dict[str, _Bins] = {}
        self._prediction: _Bins | None = None
        self._ranges: dict[str, tuple[float, float]] = {}
        self._outside: dict[str, int] = {}
        registry.register(self)

    def use_model(self, version: str, profile: Mapping[str, Sequence[float]], features: Sequence[str]) -> None:
        """Bins of the model now served; a new version restarts the counts."""
        with self._lock:
            if version == self._version:
                return
            self._version = version
            self._features = {f: _Bins(profile[f]) for f in features if len(profile.get(f, ())) >= 2}
            target = profile.get(TARGET.name, ())
            self._prediction = _Bins(target) if len(target) >= 2 else None
            self._ranges = {f: (float(profile[f][0]), float(profile[f][-1])) for f in self._features}
            self._outside = dict.fromkeys(self._features, 0)

    def observe(self, features: Sequence[str], rows: np.ndarray, predictions: np.ndarray) -> None:
        """`rows`: the validated inputs, columns in `features` order; `predictions`: one per row."""
        with self._lock:
            for index, name in enumerate(features):
                bins = self._features.get(name)
                if bins is None:
                    continue
                column = rows[:, index]
                bins.observe(column)
                low, high = self._ranges[name]
                self._outside[name] += int(((column < low) | (column > high)).sum())
            if self._prediction is not None:
                self._prediction.observe(np.asarray(predictions, dtype=float))

    def collect(self) -> Iterator[HistogramMetricFamily | CounterMetricFamily]:
        with self._lock:
            inputs = HistogramMetricFamily("bodyfat_input_value", "Served inputs, binned by the model's training data",
                                           labels=["feature", "model_version"])
            for name, bins in self._features.items():
                inputs.add_metric([name, self._version], bins.buckets(), bins.total)
            yield inputs
            prediction = HistogramMetricFamily("bodyfat_prediction_pct", "Served predictions (% body fat), binned by "
                                               "the training target", labels=["model_version"])
            if self._prediction is not None:
                prediction.add_metric([self._version], self._prediction.buckets(), self._prediction.total)
            yield prediction
            outside = CounterMetricFamily("bodyfat_inputs_outside_training_range",
                                          "Served input values outside the model's training range",
                                          labels=["feature", "model_version"])
            for name, count in self._outside.items():
                outside.add_metric([name, self._version], count)
            yield outside
