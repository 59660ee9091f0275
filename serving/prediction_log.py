"""The prediction log: every answered prediction gets an id and is written to the lake as Parquet, off the request
path, so labels that arrive later can be joined to what was actually served.

A request adds one entry to a bounded in-memory queue (a lock and a deque append, about a microsecond); a writer
thread takes what has queued every `flush_s` seconds (or sooner when `flush_rows` rows wait) and writes one
Parquet object per hour it covers under `prediction_log/date=YYYY-MM-DD/hour=HH/<uuid>.parquet`, in a folder or
an S3 bucket. The queue is bounded in rows: while the lake is slow or down, the writer keeps the rows it could not
write and retries with backoff, new rows beyond the bound are dropped and counted, and no request ever waits for
the lake. `close()` (the app's shutdown) writes what is queued.

Features: the API validates every value strictly (no coercion, no imputation), so the values *received* are the
values the model is given; a record stores the 13 received values (columns named as in the contract) and
`features_used`, the model's own input columns in its order. The caller's `id` field, when sent, is kept as `id`.
Nothing from request headers (API key included) is ever recorded.

With a `shadow` scorer (serving/shadow.py), the writer has each queued row scored by the challenger before its first
write attempt: `shadow_model_version` and `shadow_prediction`, null where no challenger scored the row.
"""

from __future__ import annotations

import io
import itertools
import logging
import operator
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

import numpy as np
from bodyfat_contract import CALLER_ID, FEATURE_NAMES
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry, Counter, Gauge

from serving.model_store import LoadedModel

log = logging.getLogger("serving.prediction_log")
PREFIX = "prediction_log"
ID_HEADER = "X-Prediction-Id"
COLUMNS = ("prediction_id", "served_at", "endpoint", "model_name", "model_version", "model_source",
           "features_used", CALLER_ID, *FEATURE_NAMES, "body_fat_pct", "interval_low", "interval_high",
           "shadow_model_version", "shadow_prediction")  # fmt: skip
MAX_BACKOFF_S = 30.0
_FEATURE_VALUES = operator.itemgetter(*FEATURE_NAMES)


class Sink(Protocol):
    url: str

    def put(self, key: str, data: bytes) -> None:
        """Store `data` as `key` in one step: readers never see a part."""
        ...


class LocalSink:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        # A dot-file first, then a rename: the lake's listings skip dot-files, so no reader sees half an object.
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class S3Sink:
    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, timeout_s: float) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        # One attempt with short timeouts: the writer's own backoff retries, and a stalled lake must free the
        # writer in seconds (botocore's defaults are 60 s reads and 3-5 retries). Credentials come from the
        # standard AWS variables and are never read or printed here.
        config = Config(connect_timeout=timeout_s, read_timeout=timeout_s,
                        retries={"max_attempts": 1, "mode": "standard"})  # fmt: skip
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{key}" if self.prefix else key, Body=data)


def sink_from_url(url: str, endpoint_url: str | None = None, timeout_s: float = 5.0) -> Sink:
    """A folder (a path or file://) or an S3 prefix (s3://bucket/prefix), as the pipeline's lake URLs."""
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return S3Sink(bucket, prefix, endpoint_url, timeout_s)
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"unsupported lake URL {url!r}: use a local path or s3://bucket/prefix")
    return LocalSink(url.removeprefix("file://"))


class Entry:
    """What one answered request queues: references only, converted to columns by the writer thread. A plain
    slotted class: a frozen dataclass cost ~4x more to build, on the request path."""

    __slots__ = ("caller_ids", "endpoint", "ids", "model", "received", "served_at", "shadow_values",
                 "shadow_version", "shadowed", "values")  # fmt: skip

    def __init__(self, ids: str | Sequence[str], served_at: float, endpoint: str, model: LoadedModel, received: Any,
                 values: Any, caller_ids: Any = None) -> None:  # fmt: skip
        self.ids = ids
        """One id (a single prediction) or one per row."""
        self.served_at, self.endpoint, self.model = served_at, endpoint, model
        self.received = received
        """A tuple of the 13 values in contract order (one row), or {feature: values} (rows)."""
        self.values = values
        """The prediction (one row) or an array of them."""
        self.caller_ids = caller_ids
        """The caller's `id` (one row) or their list, or None."""
        self.shadowed = False
        """The shadow scorer has seen this entry (it is scored once, whatever happens to its writes)."""
        self.shadow_version: str | None = None
        self.shadow_values: Any = None
        """The challenger's version and prediction (a float, or an array for rows; NaN where it failed), when it
        scored the entry."""

    @property
    def n(self) -> int:
        return 1 if isinstance(self.ids, str) else len(self.ids)


def object_key(hour_start: float) -> str:
    """`prediction_log/date=YYYY-MM-DD/hour=HH/<uuid>.parquet` for the UTC hour that starts at `hour_start`."""
    at = datetime.fromtimestamp(hour_start, UTC)
    return f"{PREFIX}/date={at:%Y-%m-%d}/hour={at:%H}/{uuid.uuid4().hex}.parquet"


def received_matrix(entries: Sequence[Entry]) -> np.ndarray:
    """The entries' received rows, one per prediction in queue order, columns in contract order (`FEATURE_NAMES`)."""
    rows: list[Any] = []
    for e in entries:
        if isinstance(e.ids, str):
            rows.append(e.received)
        else:
            rows.extend(zip(*(e.received[name] for name in FEATURE_NAMES), strict=True))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURE_NAMES))


def to_columns(entries: Sequence[Entry]) -> dict[str, Any]:
    """The entries as one table's columns (`COLUMNS`), in queue order."""
    ids: list[str] = []
    caller: list[str | None] = []
    values: list[float] = []
    shadow: list[float] = []
    counts = [e.n for e in entries]
    for e, n in zip(entries, counts, strict=True):
        if isinstance(e.ids, str):
            ids.append(e.ids)
            caller.append(None if e.caller_ids is None else str(e.caller_ids))
            values.append(float(e.values))
        else:
            ids.extend(e.ids)
            caller.extend([None] * n if e.caller_ids is None else [None if c is None else str(c) for c in e.caller_ids])
            values.extend(np.asarray(e.values, dtype=np.float64).tolist())
        if e.shadow_version is None:
            shadow.extend([np.nan] * n)
        elif isinstance(e.ids, str):
            shadow.append(e.shadow_values)
        else:
            shadow.extend(e.shadow_values.tolist())
    matrix = received_matrix(entries)
    predicted = np.array(values, dtype=np.float64)
    half = np.repeat([e.model.half_width for e in entries], counts)

    def each(attribute: Any) -> list[Any]:
        return [v for e, n in zip(entries, counts, strict=True) for v in [attribute(e)] * n]

    return {
        "prediction_id": ids, "served_at": each(lambda e: e.served_at), "endpoint": each(lambda e: e.endpoint),
        "model_name": each(lambda e: e.model.name), "model_version": each(lambda e: e.model.version),
        "model_source": each(lambda e: e.model.source), "features_used": each(lambda e: ",".join(e.model.features)),
        CALLER_ID: caller, **{name: matrix[:, i] for i, name in enumerate(FEATURE_NAMES)},
        "body_fat_pct": predicted, "interval_low": predicted - half, "interval_high": predicted + half,
        "shadow_model_version": each(lambda e: e.shadow_version), "shadow_prediction": np.array(shadow),
    }  # fmt: skip


def to_parquet(columns: dict[str, Any]) -> bytes:
    """Parquet bytes (fastparquet: ~15 MB installed against pyarrow's ~156 MB in the serving image)."""
    import pandas as pd

    frame = pd.DataFrame(columns, columns=list(COLUMNS))
    frame["served_at"] = pd.to_datetime(frame["served_at"], unit="s", utc=True)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="fastparquet", index=False, compression="zstd",
                     object_encoding="utf8")  # fmt: skip
    return buffer.getvalue()


def split_by_hour(entries: Sequence[Entry]) -> dict[float, list[Entry]]:
    """Entries grouped by the UTC hour they were served in (one object per hour, so a reader of one hour's
    partition never opens another's)."""
    hours: dict[float, list[Entry]] = {}
    for e in entries:
        hours.setdefault(e.served_at - e.served_at % 3600, []).append(e)
    return hours


class IdMaker:
    """Prediction ids: a random 80-bit prefix per process and a counter, 32 hex characters. Unique across processes
    and restarts like a UUID4, at a fifth of its cost (uuid4() reads the OS's random source per call); a batch's
    rows are `<batch id>-<row>`."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter):012x}"

    def rows(self, n: int) -> tuple[str, list[str]]:
        base = self.new()
        return base, [f"{base}-{i}" for i in range(n)]


@dataclass
class LogStatus:
    queued_rows: int = 0
    written_rows: int = 0
    dropped_rows: int = 0
    objects: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_write_at: float | None = None
    failing_since: float | None = field(default=None)


class PredictionLog:
    """The bounded queue and its writer thread. `sink` None: ids are still made and returned, nothing is kept."""

    def __init__(self, sink: Sink | None, registry: CollectorRegistry, max_rows: int = 20_000,
                 flush_s: float = 5.0, flush_rows: int = 10_000,
                 shadow: Callable[[Sequence[Entry]], None] | None = None) -> None:  # fmt: skip
        """`shadow` scores entries with the challenger (serving/shadow.py) in this writer's thread; it never
        raises."""
        self.sink, self.max_rows, self.flush_s, self.flush_rows = sink, max_rows, flush_s, flush_rows
        self.shadow = shadow
        self.ids = IdMaker()
        self._queue: deque[Entry] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writing = threading.Lock()  # the writer thread and close() never write the same rows twice
        self.status = LogStatus()
        self.dropped = Counter("bodyfat_prediction_log_dropped", "Predictions not logged: the queue was full",
                               registry=registry)  # fmt: skip
        self.written = Counter("bodyfat_prediction_log_written", "Predictions written to the lake", registry=registry)
        self.errors = Counter("bodyfat_prediction_log_write_errors", "Failed writes to the lake", registry=registry)
        Gauge("bodyfat_prediction_log_queued", "Predictions waiting to be written", registry=registry).set_function(
            lambda: self.status.queued_rows)

    @property
    def enabled(self) -> bool:
        return self.sink is not None

    def add(self, entry: Entry) -> None:
        """Queue one answered request; never blocks on the lake. Over the bound, the entry is dropped and counted."""
        if self.sink is None:
            return
        n = entry.n
        with self._lock:
            if self.status.queued_rows + n > self.max_rows:
                self.status.dropped_rows += n
                dropped = True
            else:
                self._queue.append(entry)
                self.status.queued_rows += n
                dropped = False
            wake = self.status.queued_rows >= self.flush_rows
        if dropped:
            self.dropped.inc(n)
        elif wake:
            self._wake.set()

    def start(self) -> None:
        if self.sink is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
            self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the writer and write what is queued (one attempt, within `timeout_s`); what cannot be written is
        counted as dropped."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout_s)
            self._thread = None
        if self.sink is not None:
            self.flush()
            with self._lock:
                lost, self.status.queued_rows = self.status.queued_rows, 0
                self.status.dropped_rows += lost
                self._queue.clear()
            if lost:
                self.dropped.inc(lost)
                log.warning("prediction log: %d predictions not written at shutdown (%s)", lost,
                            self.status.last_error)  # fmt: skip

    def flush(self) -> bool:
        """Write everything queued now; False if a write failed (its rows stay queued, in order)."""
        with self._writing:
            return self._flush()

    def _flush(self) -> bool:
        with self._lock:
            entries = list(self._queue)
            self._queue.clear()
        if not entries:
            return True
        if self.shadow is not None:
            # Once per entry: rows held through a lake outage keep the challenger that scored them.
            self.shadow([e for e in entries if not e.shadowed])
        hours = split_by_hour(entries)
        done: set[int] = set()
        try:
            for hour, group in sorted(hours.items()):
                data = to_parquet(to_columns(group))
                self.sink.put(object_key(hour), data)  # type: ignore[union-attr]
                done.update(map(id, group))
                rows = sum(e.n for e in group)
                with self._lock:
                    self.status.queued_rows -= rows
                    self.status.written_rows += rows
                    self.status.objects += 1
                    self.status.last_write_at = time.time()
                    failed_since, self.status.failing_since = self.status.failing_since, None
                self.written.inc(rows)
                if failed_since is not None:
                    log.warning("prediction log: writing to %s again after %.0f s; %d predictions dropped so far",
                                self.sink.url, time.time() - failed_since,  # type: ignore[union-attr]
                                self.status.dropped_rows)  # fmt: skip
            return True
        except Exception as exc:  # any storage failure: keep the rows, retry later, never raise
            self.errors.inc()
            kept = [e for e in entries if id(e) not in done]
            with self._lock:
                self._queue.extendleft(reversed(kept))
                now = time.time()
                first = self.status.failing_since is None
                self.status.last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                self.status.last_error_at = now
                self.status.failing_since = self.status.failing_since or now
            if first:
                log.warning("prediction log: writing to %s failed (%s); rows stay queued up to %d, then are dropped",
                            self.sink.url, self.status.last_error, self.max_rows)  # type: ignore[union-attr]
            return False

    def _run(self) -> None:
        # Imported here, before the first flush: pandas and fastparquet cost ~1 s of CPU to import on this machine,
        # which the first flush would otherwise take from the requests of its moment.
        import fastparquet  # noqa: F401
        import pandas  # noqa: F401

        backoff = self.flush_s
        while not self._stop.is_set():
            # While the lake fails, only the backoff (or shutdown) wakes the writer: a full queue's wake-ups would
            # re-encode up to max_rows rows per request and hit the failing lake as often as requests arrive.
            (self._stop if backoff > self.flush_s else self._wake).wait(backoff)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.flush():
                backoff = self.flush_s
            else:
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def details(self) -> dict[str, Any]:
        """For /ready: where the log goes and how it is doing."""
        if self.sink is None:
            return {"enabled": False}
        s = self.status
        return {
            "enabled": True, "sink": self.sink.url, "queued": s.queued_rows, "max_queued": self.max_rows,
            "written": s.written_rows, "dropped": s.dropped_rows, "objects": s.objects,
            "last_write_at": s.last_write_at, "failing_since": s.failing_since, "last_error": s.last_error,
        }  # fmt: skip


def single_entry(log_: PredictionLog, endpoint: str, model: LoadedModel, record: dict[str, Any],
                 value: float) -> str:  # fmt: skip
    """Queue one prediction; its id."""
    pid = log_.ids.new()
    if log_.sink is not None:
        log_.add(Entry(pid, time.time(), endpoint, model, _FEATURE_VALUES(record), value, record.get(CALLER_ID)))
    return pid


def rows_entry(log_: PredictionLog, endpoint: str, model: LoadedModel, body: Any, values: np.ndarray) -> tuple[
        str, list[str]]:  # fmt: skip
    """Queue a batch's rows (`body`: a ColumnarBatch or a list of records); (the batch id, one id per row)."""
    if log_.sink is None or not len(values):
        return log_.ids.rows(len(values))
    columns = getattr(body, "columns", None)
    if columns is not None:
        received, caller = columns, columns.get(CALLER_ID)
    else:
        received = {name: [rec[name] for rec in body] for name in FEATURE_NAMES}
        caller = [rec.get(CALLER_ID) for rec in body] if any(CALLER_ID in rec for rec in body) else None
    return columns_entry(log_, endpoint, model, received, values, caller)


def columns_entry(log_: PredictionLog, endpoint: str, model: LoadedModel, received: Mapping[str, Any],
                  values: np.ndarray, caller: Any = None) -> tuple[str, list[str]]:
    """Queue a batch's rows given as columns of received values (feature → values); (the batch id, one id per
    row). The Open Inference Protocol's tensors arrive this way."""
    base, ids = log_.ids.rows(len(values))
    if log_.sink is not None and len(values):
        log_.add(Entry(ids, time.time(), endpoint, model, received, values, caller))
    return base, ids


def prediction_log_from_settings(settings: Any, registry: CollectorRegistry,
                                 shadow: Callable[[Sequence[Entry]], None] | None = None) -> PredictionLog:
    """The log `ServingSettings` describe; no sink when it is off or has no lake."""
    sink = None
    if settings.prediction_log and settings.lake_url:
        sink = sink_from_url(settings.lake_url, settings.s3_endpoint_url, settings.prediction_log_timeout_s)
    return PredictionLog(sink, registry, settings.prediction_log_max_rows, settings.prediction_log_flush_s,
                         settings.prediction_log_flush_rows, shadow)  # fmt: skip


async def get_prediction_log(request: Request) -> PredictionLog:
    return request.app.state.prediction_log


PredictionLogDep = Annotated[PredictionLog, Depends(get_prediction_log)]
