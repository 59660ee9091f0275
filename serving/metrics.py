"""Prometheus metrics, one registry per app (tests build many apps in one process), recorded by a pure ASGI
middleware: Starlette's BaseHTTPMiddleware would cost more per request than the Ridge prediction itself."""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.distribution import DistributionMetrics
from serving.model_store import LoadedModel, RefreshOutcome
from serving.population import RowWarnings, row_warnings

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bodyfat_http_requests", "HTTP requests by endpoint, method and status", ["endpoint", "method", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "bodyfat_http_request_duration_seconds", "Request latency in the app (excludes socket time)",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.model_version = Gauge(
            "bodyfat_model_version", "Registry version being served (0 = bundled fallback, -1 = none)",
            registry=self.registry,
        )  # fmt: skip
        self.model_info = Info("bodyfat_model", "Model being served", registry=self.registry)
        self.refreshes = Counter(
            "bodyfat_model_refreshes", "Alias checks by outcome", ["outcome"], registry=self.registry
        )
        self.warmup = Histogram(
            "bodyfat_model_warmup_seconds", "Time a new model took to answer its warm-up batch before the swap",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.predicted_rows = Counter("bodyfat_predicted_rows", "Rows predicted", registry=self.registry)
        self.warned_rows = Counter(
            "bodyfat_prediction_warnings", "Predicted rows answered with a warning, by code (serving.population)",
            ["code"], registry=self.registry,
        )  # fmt: skip
        self.distribution = DistributionMetrics(self.registry)
        self.model_version.set(-1)

    def record_model(self, model: LoadedModel | None) -> None:
        if model is None:
            self.model_version.set(-1)
            return
        self.model_version.set(float(model.version) if model.version.isdigit() else 0)
        self.model_info.info({"name": model.name, "version": model.version, "source": model.source})
        self.distribution.use_model(f"{model.source}:{model.version}", model.profile, model.features)

    def record_predictions(self, model: LoadedModel, rows: np.ndarray, values: np.ndarray) -> RowWarnings:
        """Rows (columns in `model.features` order) and their predictions: counted, binned for monitoring, and
        checked against the training population. Returns the warnings by row index (counted here too)."""
        self.predicted_rows.inc(len(values))
        self.distribution.observe(model.features, rows, values)
        warnings = row_warnings(model.population, rows)
        for found in warnings.values():
            for warning in found:
                self.warned_rows.labels(warning["code"]).inc()
        return warnings

    def record_refresh(self, outcome: RefreshOutcome) -> None:
        self.refreshes.labels(outcome.outcome).inc()
        if outcome.warmup_s is not None:
            self.warmup.observe(outcome.warmup_s)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ServingMetrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        # Label by known path only: arbitrary URLs (scanners, fuzzers) must not create unbounded label sets.
        self.endpoints = frozenset(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"] if scope["path"] in self.endpoints else "other"
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - start)
            self.metrics.requests.labels(endpoint, scope["method"], str(status)).inc()
