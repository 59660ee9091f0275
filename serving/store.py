"""Model lifecycle: load the champion (or the bundled fallback), poll the alias, swap atomically.

Request handlers read `store.current` once and use that `LoadedModel` for the whole request. Loaded models are
immutable and a swap is a single attribute assignment, so in-flight requests finish on the model they started with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from serving.loading import LoadedModel, ModelError, ModelSource, Source
from serving.warmup import warm_up

log = logging.getLogger("serving.model_store")
MAX_REJECT_BACKOFF_S = 3600.0


@dataclass(frozen=True)
class RefreshOutcome:
    outcome: Literal["swapped", "unchanged", "no_champion", "rejected", "error"]
    version: str | None
    source: Source | None
    detail: str | None = None
    checked_at: float = field(default_factory=time.time)
    warmup_s: float | None = None  # how long the new model took to answer its warm-up batch, on a swap


ERROR_OUTCOMES = {"error": "registry_error", "rejected": "champion_rejected"}


def readiness(model: LoadedModel | None, last: RefreshOutcome | None) -> tuple[int, str, str]:
    """(HTTP status, status, reason) for /ready. A fallback by design (the registry has no champion yet, or none is
    configured) is ready; a fallback because the registry failed or refused its champion is `degraded` with 503,
    which takes the instance out of a load balancer's rotation while it still answers /predict."""
    if model is None:
        return 503, "not_ready", "no_model"
    if model.source == "registry":
        return 200, "ready", "champion"
    if last is not None and last.outcome in ERROR_OUTCOMES:
        return 503, "degraded", ERROR_OUTCOMES[last.outcome]
    if last is not None and last.outcome == "no_champion":
        return 200, "ready", "no_champion"
    return 200, "ready", "no_registry"


class ModelStore:
    def __init__(
        self,
        connect: Callable[[], ModelSource | None],
        fallback: Callable[[], LoadedModel] | None,
        poll_interval_s: float,
        on_refresh: Callable[[RefreshOutcome], None] | None = None,
        role: str = "champion",
    ) -> None:
        """`connect` builds the model source at `start()` (not at import or app creation, so a misconfigured
        registry costs only the registry, never the fallback); a source that opens a store does so inside its first
        bounded call (`MlflowSource`), so a locked one costs a poll, not the start. Without a `fallback` the store
        follows an alias that may be absent (the shadow challenger): nothing is served until it exists, and the model
        is dropped when it goes. `role` names the alias in logs and outcomes."""
        self._connect = connect
        self.role = role
        self._source: ModelSource | None = None
        self._fallback = fallback
        self._poll_interval_s = poll_interval_s
        self._on_refresh = on_refresh
        self._current: LoadedModel | None = None
        # The version being loaded and warmed up while the current model keeps serving (None otherwise): /ready
        # shows it, so an operator sees a swap coming.
        self.warming: str | None = None
        # version -> (failed attempts, monotonic time of the next try): a champion that fails the model contract
        # is not downloaded again on every poll.
        self._rejected: dict[str, tuple[int, float]] = {}
        self._connect_error: str | None = None
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_outcome: RefreshOutcome | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def start(self) -> None:
        """Load something servable now, then keep polling. Never raises: no model means /ready says 503."""
        try:
            self._source = self._connect()
        except Exception as exc:  # a misconfigured registry must still leave the fallback serving
            self._connect_error = type(exc).__name__
            log.exception("model registry client could not be created; serving the fallback only")
        self.refresh()
        if self._current is None and self._fallback is not None:
            try:
                self._current = self._warmed(self._fallback())[0]
                log.warning("serving the bundled fallback model until the registry has a champion")
            except Exception:  # a broken fallback must not crash the process either
                log.exception("fallback model failed to load; nothing to serve")
        if self._source is not None:
            self._thread = threading.Thread(target=self._poll, name="model-poller", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            self.refresh()

    def refresh(self, force: bool = False) -> RefreshOutcome:
        """Check the alias once and swap if it points elsewhere. Serialised: the poller and /admin/reload share it.
        `force` retries a rejected version before its backoff has elapsed (an operator asked for it)."""
        with self._refresh_lock:
            try:
                outcome = self._refresh_locked(force)
            finally:
                self.warming = None
        self.last_outcome = outcome
        if self._on_refresh is not None:
            self._on_refresh(outcome)
        return outcome

    def _refresh_locked(self, force: bool) -> RefreshOutcome:
        current = self._current
        here = (current.version, current.source) if current else (None, None)
        if self._source is None and self._connect_error is not None:
            return RefreshOutcome("error", *here, detail=f"registry client: {self._connect_error}")
        if self._source is None:
            return RefreshOutcome("unchanged", *here, detail="no registry configured")
        try:
            version = self._source.champion_version()
            if version is None:
                # Keep whatever we serve: a vanished alias is not a reason to drop a working champion. An optional
                # alias (no fallback) is followed exactly: gone means nothing to serve.
                if self._fallback is None and current is not None:
                    self._current = None
                    log.info("%s alias gone: version %s dropped", self.role, current.version)
                    here = (None, None)
                return RefreshOutcome("no_champion", *here, detail=f"registry has no {self.role} alias")
            if current is not None and current.source == "registry" and current.version == version:
                return RefreshOutcome("unchanged", *here)
            attempts, retry_at = self._rejected.get(version, (0, 0.0))
            if attempts and not force and time.monotonic() < retry_at:
                return RefreshOutcome("rejected", *here, detail=f"version {version} was refused; retry pending")
            self.warming = version
            model, warmup_s = self._warmed(self._source.load(version))
        except ModelError as exc:
            backoff = min(self._poll_interval_s * 2**attempts, MAX_REJECT_BACKOFF_S)
            self._rejected[version] = (attempts + 1, time.monotonic() + backoff)
            log.warning("%s version %s refused (next try in %.0f s): %s", self.role, version, backoff, exc)
            return RefreshOutcome("rejected", *here, detail=f"version {version} was refused: ModelError")
        except Exception as exc:  # registry down or bad model: keep serving, retry next poll
            # Public answers (/ready, /admin/reload) carry the class only: MLflow's messages contain the tracking
            # URI, credentials included. The log has the message, with credentials redacted (serving.logs).
            log.warning("model refresh failed: %r", exc)
            return RefreshOutcome("error", *here, detail=type(exc).__name__)
        self._rejected.pop(version, None)
        self._current = model  # the atomic swap, once the new model has answered its warm-up batch
        self.warming = None
        log.info("now serving %s version %s as %s (was %s)", model.name, model.version, self.role, here[0])
        return RefreshOutcome("swapped", model.version, model.source, warmup_s=warmup_s)

    @staticmethod
    def _warmed(model: LoadedModel) -> tuple[LoadedModel, float]:
        rows, seconds = warm_up(model)
        log.info("version %s warmed up: %d rows in %.1f ms", model.version, rows, seconds * 1000)
        return model, seconds
