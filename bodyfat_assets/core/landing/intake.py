"""The landing sensor's decision, without Dagster: list, find what is new, classify each new object, move the
rejected ones. The sensor turns the result into partitions, run requests and an observation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from bodyfat_assets.core.landing.cursor import LandedObject, LandingCursor, list_landed
from bodyfat_assets.core.landing.identity import (
    FULL_CHECK_BYTES,
    fingerprint,
    same_bytes,
    stored_file_of,
    streamed_hash,
)
from bodyfat_assets.core.landing.moves import reject_object
from bodyfat_assets.core.landing.naming import content_hash, duplicate_of, partition_key_for
from bodyfat_assets.core.landing.sample import check_sample
from bodyfat_assets.core.landing.validation import Reject, read_landed_file
from bodyfat_assets.lake import ObjectStore

ACCEPT, REJECT, SKIP = "accept", "reject", "skip"
TICK_BUDGET_S = 20.0
"""Once a tick has spent this long on files, the rest wait for the next one (a third of Dagster's 60 s sensor
timeout: a timed-out tick loses all its work). Smallest files go first, so one large file never holds up a small one."""
MIN_FILE_AGE_S = 5.0
"""A local file is taken once its last change is this old: a writer appending in place, or pausing for less than
this, is never caught mid-file. Without it, a writer appending for 10 s had its file rejected as `empty` after
31 bytes (the rest went to the deleted file); with "unchanged across two listings" instead, a writer pausing 3 s
mid-line had its first half accepted as a partition of its own (tests/landing/test_partial_files.py)."""


def is_settled(obj: LandedObject, now: float, min_age_s: float) -> bool:
    return now - obj.mtime >= min_age_s


@dataclass(frozen=True)
class Verdict:
    """What the landing sensor does with one new object."""

    obj: LandedObject
    action: str
    """ACCEPT (register partition, request a run), REJECT (moved to rejected/), SKIP (in flight)."""
    partition_key: str | None = None
    rows: int | None = 0
    """Rows in the file; None while unknown (a large CSV is counted by its run, not by the tick)."""
    code: str = ""
    detail: str = ""
    moved_to: str = ""


@dataclass(frozen=True)
class KnownPartitions:
    """What the orchestrator knows about the partitions of one kind of file."""

    ingested: frozenset[str] = frozenset()
    """Materialized at least once: the same bytes again are a duplicate."""
    in_flight: frozenset[str] = frozenset()
    """With a run queued or in progress: the same file again is already being handled. A partition that is
    neither (registered, but its run failed) is as good as new: dropping its file again retries it."""


def classify(obj: LandedObject, data: bytes, known: KnownPartitions,
             accepted_this_tick: Iterable[str] = ()) -> Verdict:
    """Decide one object read whole: deduplicated by content against every partition of its kind that was ingested
    or is being ingested, then validated."""
    return decide(obj, content_hash(data), known, accepted_this_tick,
                  validate=lambda: len(read_landed_file(obj.kind, obj.name, data)))


def classify_large(store: ObjectStore, obj: LandedObject, known: KnownPartitions,
                   accepted_this_tick: Iterable[str] = (), landed: Iterable[LandedObject] = (),
                   large_bytes: int = FULL_CHECK_BYTES) -> Verdict:
    """Decide one large object from its head or footer (`sample.check_sample`) and its fingerprint
    (`identity.fingerprint`): the tick's time and memory stay bounded whatever the size; its run validates every
    row. Only a fingerprint that matches a known partition costs a full read of both files (`identity`)."""
    try:
        rows = check_sample(store, obj)  # before the fingerprint: a wrong header is rejected without reading the body
    except Reject as rejection:
        return Verdict(obj, REJECT, code=rejection.code, detail=rejection.detail)
    data_hash = fingerprint(store, obj.key, obj.size)
    own_key = partition_key_for(obj.name, data_hash)
    twin = duplicate_of(data_hash, [k for k in [*known.ingested, *known.in_flight, *accepted_this_tick]
                                    if not (k == own_key and k in known.in_flight)])  # that one is this file's run
    if twin:
        stored = stored_file_of(store, obj.kind, twin, [o for o in landed if o.key != obj.key], large_bytes)
        if stored is None:
            return Verdict(obj, REJECT, code="duplicate_content", detail=f"same size and sampled bytes as partition "
                           f"{twin}, whose file is no longer stored to compare in full")
        if not same_bytes(store, obj, stored):
            data_hash = streamed_hash(store, obj.key, obj.size)  # same samples, other bytes: keyed by content
    return decide(obj, data_hash, known, accepted_this_tick, validate=lambda: rows)


def decide(obj: LandedObject, data_hash: str, known: KnownPartitions, accepted_this_tick: Iterable[str],
           validate: Callable[[], int | None]) -> Verdict:
    key = partition_key_for(obj.name, data_hash)
    if key in known.in_flight:
        return Verdict(obj, SKIP, partition_key=key, detail=f"partition {key} has a run queued or in progress")
    twin = duplicate_of(data_hash, [*known.ingested, *known.in_flight, *accepted_this_tick])
    if twin:
        return Verdict(obj, REJECT, code="duplicate_content", detail=f"same bytes as partition {twin}")
    try:
        rows = validate()
    except Reject as rejection:
        return Verdict(obj, REJECT, code=rejection.code, detail=rejection.detail)
    return Verdict(obj, ACCEPT, partition_key=key, rows=rows)


def rows_text(rows: int | None) -> str:
    """A verdict's row count for logs and tables: a large CSV's rows are unknown until its run reads them (the log
    once said "(0 rows)" for a 5M-row file)."""
    return "rows counted by its run" if rows is None else f"{rows:,} rows"


@dataclass
class Intake:
    """One tick's outcome: a verdict per handled object (rejected ones already moved), the objects that failed
    and are retried next tick, and the cursor to store."""

    verdicts: list[Verdict] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    """Landed key → error, for objects that could not be handled (vanished, permission): retried next tick."""
    settling: list[LandedObject] = field(default_factory=list)
    """New objects that may still be being written: looked at again next tick."""
    deferred: list[LandedObject] = field(default_factory=list)
    """New objects left for the next tick once this one had used its time budget."""
    cursor: LandingCursor = field(default_factory=LandingCursor)

    def accepted(self, kind: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.action == ACCEPT and v.obj.kind == kind]


def take_in(store: ObjectStore, cursor: LandingCursor, known: Callable[[], Mapping[str, KnownPartitions]],
            now: float | None = None, min_age_s: float = MIN_FILE_AGE_S, full_check_bytes: int = FULL_CHECK_BYTES,
            budget_s: float = TICK_BUDGET_S) -> Intake:
    """Classify every whole object of the landing zone not in `cursor`; move rejected ones to rejected/.

    `known` gives each kind's KnownPartitions; it is called only when there is something new to classify. One
    broken object never blocks the others: smallest first, files above `full_check_bytes` from a sample, and what
    is left once `budget_s` is spent waits for the next tick. On a store whose objects may be half-written when
    listed, an object is taken only once settled (`MIN_FILE_AGE_S`).
    """
    listed = list_landed(store)
    now = time.time() if now is None else now
    intake = Intake()
    new_objects = []
    for obj in cursor.new_objects(listed):
        whole = store.whole_when_listed or is_settled(obj, now, min_age_s)
        (new_objects if whole else intake.settling).append(obj)
    # Only a tick with something new asks: the answer grows with every file ever ingested.
    known_by_kind = known() if new_objects else {}
    handled: list[LandedObject] = []
    started = time.monotonic()
    for obj in sorted(new_objects, key=lambda o: (o.size, o.key)):
        if handled and time.monotonic() - started > budget_s:
            intake.deferred.append(obj)
            continue
        accepted = [v.partition_key for v in intake.accepted(obj.kind) if v.partition_key]
        known_here = known_by_kind.get(obj.kind, KnownPartitions())
        try:
            if obj.size > full_check_bytes:
                verdict, data = classify_large(store, obj, known_here, accepted, listed, full_check_bytes), None
            else:
                data = store.read_bytes(obj.key)
                if len(data) != obj.size:  # written to since it was listed: not whole yet
                    intake.settling.append(obj)
                    continue
                verdict = classify(obj, data, known_here, accepted)
            if verdict.action == REJECT:
                verdict = replace(verdict, moved_to=reject_object(store, obj, verdict.code, verdict.detail, data))
        except Exception as exc:  # one broken object (vanished, permission) must not block the others: retried
            intake.failures[obj.key] = f"{type(exc).__name__}: {exc}"
            continue
        intake.verdicts.append(verdict)
        handled.append(obj)
    intake.cursor = cursor.advance(listed, handled)
    return intake
