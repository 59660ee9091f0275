"""What the served model sees, as Prometheus histograms binned with its own training data: each input feature and
the predictions, plus a counter of inputs outside the training range by feature.

A custom collector over numpy counts instead of prometheus_client.Histogram: a 10,000-row batch is 130,000
observations, about 0.2 s through `Histogram.observe` and ~3 ms through one `np.searchsorted` per column; a single
row is compared with every feature's edges at once (`_FeatureBins`). Bins come from the model card's
`training_profile` (bodyfat_contract.training_profile); when the served version changes the counts restart under
the new `model_version` label (Prometheus treats it as a reset).
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


class _FeatureBins:
    """Every feature's bins as one matrix (edges padded with +inf), so a request is counted in a few numpy calls for
    all its features at once. One `_Bins` per feature was 13 x 6 numpy calls per request: one row cost 150 µs of CPU
    against 39 µs now (same process, load 6; a Ridge request is ~400 µs in all), 64 rows 336 against 138 µs."""

    def __init__(self, profile: Mapping[str, Sequence[float]], names: Sequence[str]) -> None:
        self.names = tuple(names)
        widest = max((len(profile[name]) for name in self.names), default=0)
        self.edges = np.full((len(self.names), widest), np.inf)
        for i, name in enumerate(self.names):
            self.edges[i, : len(profile[name])] = profile[name]
        self.sizes = [len(profile[name]) for name in self.names]
        self.low = np.array([float(profile[name][0]) for name in self.names])
        self.high = np.array([float(profile[name][-1]) for name in self.names])
        self.counts = np.zeros((len(self.names), widest + 1), dtype=np.int64)
        self.totals = np.zeros(len(self.names))
        self.outside = np.zeros(len(self.names), dtype=np.int64)
        self._columns: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}

    def _where(self, features: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(bins, columns): which bins the rows' columns (in `features` order) fill, by position."""
        if features not in self._columns:
            pairs = [(i, features.index(name)) for i, name in enumerate(self.names) if name in features]
            self._columns[features] = (np.array([b for b, _ in pairs], dtype=np.intp),
                                       np.array([c for _, c in pairs], dtype=np.intp))  # fmt: skip
        return self._columns[features]

    def observe(self, features: Sequence[str], rows: np.ndarray) -> None:
        bins, columns = self._where(tuple(features))
        if not len(bins) or not len(rows):
            return
        values = rows[:, columns]
        edges = self.edges[bins]
        # Bin i holds values in (edge i-1, edge i], as np.searchsorted(side="left"): the number of edges below it.
        width = self.counts.shape[1]
        if len(rows) * edges.size <= 1 << 16:
            index = (values[:, :, None] > edges[None, :, :]).sum(axis=2)
            flat = (index + (bins * width)[None, :]).ravel()
            self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)
        else:  # a large batch: one searchsorted per column, not an n x features x edges array
            for j, b in enumerate(bins):
                self.counts[b] += np.bincount(np.searchsorted(edges[j], values[:, j], side="left"), minlength=width)
        self.totals[bins] += values.sum(axis=0)
        self.outside[bins] += ((values < self.low[bins]) | (values > self.high[bins])).sum(axis=0)

    def buckets(self, i: int) -> tuple[list[tuple[str, float]], float]:
        cumulative = np.cumsum(self.counts[i, : self.sizes[i] + 1])
        edges = self.edges[i, : self.sizes[i]]
        return [*((f"{edge:g}", float(c)) for edge, c in zip(edges, cumulative[:-1], strict=True)),
                ("+Inf", float(cumulative[-1]))], float(self.totals[i])  # fmt: skip


class DistributionMetrics(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._lock = threading.Lock()
        self._version = ""
        self._features = _FeatureBins({}, ())
        self._prediction: _Bins | None = None
        registry.register(self)

    def use_model(self, version: str, profile: Mapping[str, Sequence[float]], features: Sequence[str]) -> None:
        """Bins of the model now served; a new version restarts the counts."""
        with self._lock:
            if version == self._version:
                return
            self._version = version
            self._features = _FeatureBins(profile, [f for f in features if len(profile.get(f, ())) >= 2])
            target = profile.get(TARGET.name, ())
            self._prediction = _Bins(target) if len(target) >= 2 else None

    def observe(self, features: Sequence[str], rows: np.ndarray, predictions: np.ndarray) -> None:
        """`rows`: the validated inputs, columns in `features` order; `predictions`: one per row."""
        with self._lock:
            self._features.observe(features, rows)
            if self._prediction is not None:
                self._prediction.observe(np.asarray(predictions, dtype=float))

    def collect(self) -> Iterator[HistogramMetricFamily | CounterMetricFamily]:
        with self._lock:
            inputs = HistogramMetricFamily("bodyfat_input_value", "Served inputs, binned by the model's training data",
                                           labels=["feature", "model_version"])
            for i, name in enumerate(self._features.names):
                inputs.add_metric([name, self._version], *self._features.buckets(i))
            yield inputs
            prediction = HistogramMetricFamily("bodyfat_prediction_pct", "Served predictions (% body fat), binned by "
                                               "the training target", labels=["model_version"])
            if self._prediction is not None:
                prediction.add_metric([self._version], self._prediction.buckets(), self._prediction.total)
            yield prediction
            outside = CounterMetricFamily("bodyfat_inputs_outside_training_range",
                                          "Served input values outside the model's training range",
                                          labels=["feature", "model_version"])
            for name, count in zip(self._features.names, self._features.outside.tolist(), strict=True):
                outside.add_metric([name, self._version], count)
            yield outside
