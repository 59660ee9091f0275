"""The landing zone, without Dagster: what a landed file must look like, where it goes, and when to retrain.

Layout under the landing prefix of the lake (a folder on the embedded default, `s3://bucket/<lake>/landing/` in
production):

    train/<name>.csv|.parquet      labeled batches (13 predictors + BodyFat, Density optional)
    score/<name>.csv|.parquet      unlabeled scoring batches (13 predictors, optional `id`)
    processed/<kind>/<partition>.<ext>      the file, once ingested (or scored)
    rejected/<kind>/<stamp>-<name>          a file that failed validation
    rejected/<kind>/<stamp>-<name>.reason.json   why

Sensors call these functions and only wire the results into Dagster (sensors.py); the assets read files back
through them too, so the sensor and the run agree on what a file means.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from bodyfat_assets.core.cleaning import SOURCE  # (source, row_id) identifies a row everywhere
from bodyfat_assets.core.schema import DENSITY, FEATURE_NAMES, FEATURES_BY_NAME, ROW_ID, TARGET
from bodyfat_assets.lake import ObjectStore

TRAIN, SCORE = "train", "score"
KINDS: tuple[str, ...] = (TRAIN, SCORE)
PROCESSED, REJECTED = "processed", "rejected"
SEED_PARTITION = "seed"
"""The seed dataset (data/bodyfat.csv) is the first partition of both raw_bodyfat and batch_predictions."""
SYNTHETIC = "synthetic"
ID = "id"
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}

REQUIRED: dict[str, tuple[str, ...]] = {TRAIN: (TARGET.name, *FEATURE_NAMES), SCORE: FEATURE_NAMES}
OPTIONAL: dict[str, tuple[str, ...]] = {
    TRAIN: (DENSITY.name, SYNTHETIC),
    # A scoring file may carry the target (e.g. to compare predictions later); it is kept but never used.
    SCORE: (ID, SYNTHETIC, TARGET.name, DENSITY.name),
}
MAX_BAD_FRACTION = 0.5
"""A few bad cells are a measurement problem: the rows go to quarantine. When most values of a column are text, or
most rows are missing values or lie outside the physiological ranges, the file is a wrong export (other units,
shifted columns) and no row-level repair applies: the whole file is rejected."""
HASH_CHARS = 12


class Reject(Exception):
    """A landed file that cannot be accepted; `code` is one of REJECTION_CODES."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


REJECTION_CODES: dict[str, str] = {
    "unsupported_format": "not a .csv or .parquet file",
    "unsupported_location": "inside a sub-folder of train/ or score/",
    "empty": "no bytes, or a header without rows",
    "unreadable": "not parseable as CSV or Parquet",
    "wrong_header": "required columns missing, unknown or repeated columns",
    "non_numeric": "a measurement column that is mostly text",
    "beyond_repair": "most rows missing or outside the physiological ranges",
    "duplicate_content": "byte-identical to a file already accepted",
}


# --- listing and cursor -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandedObject:
    key: str
    """Relative to the landing prefix, e.g. `train/batch-1.csv`."""
    etag: str
    size: int

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def token(self) -> str:
        """Identity of this version of the object: a re-uploaded, changed file gets a new token."""
        return f"{self.key}@{self.etag or self.size}"


def landed_from_listing(objects: Iterable[Mapping[str, object]], strip_prefix: str) -> list[LandedObject]:
    """S3 `list_objects_v2` entries (as returned by `dagster_aws.s3.sensor.get_objects`) → LandedObject."""
    out = []
    for obj in objects:
        key = str(obj["Key"])
        relative = key[len(strip_prefix):].lstrip("/") if strip_prefix else key
        if relative.split("/", 1)[0] in KINDS and "/" in relative and not relative.endswith("/"):
            out.append(LandedObject(relative, str(obj.get("ETag", "")).strip('"'), int(obj.get("Size", 0))))
    return out


@dataclass
class LandingCursor:
    """Tokens of landed objects already handled and still in the landing folders (handled files leave them, so
    the set stays small: it is pruned to what is listed)."""

    seen: set[str] = field(default_factory=set)

    @classmethod
    def from_json(cls, raw: str | None) -> LandingCursor:
        if not raw:
            return cls()
        return cls(set(json.loads(raw).get("seen", [])))

    def to_json(self) -> str:
        return json.dumps({"seen": sorted(self.seen)})

    def new_objects(self, listed: Iterable[LandedObject]) -> list[LandedObject]:
        return [obj for obj in listed if obj.token not in self.seen]

    def advance(self, listed: Iterable[LandedObject], handled: Iterable[LandedObject]) -> LandingCursor:
        still_there = {obj.token for obj in listed}
        return LandingCursor((self.seen & still_there) | {obj.token for obj in handled})


# --- names ------------------------------------------------------------------------------------------------------


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def partition_key_for(name: str, data_hash: str) -> str:
    """`<file stem>-<first 12 hex of sha256>`: readable in Dagit, and a changed file is a new partition."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePosixPath(name).stem).strip("._") or "file"
    stem = stem.replace("..", "_")  # Dagster refuses '...' in partition keys
    return f"{stem[:80]}-{data_hash[:HASH_CHARS]}"


def hash_of_partition(partition_key: str) -> str | None:
    tail = partition_key.rsplit("-", 1)[-1]
    return tail if len(tail) == HASH_CHARS and re.fullmatch(r"[0-9a-f]+", tail) else None


def duplicate_of(data_hash: str, existing_partitions: Iterable[str]) -> str | None:
    """The existing partition with the same content, if any (same bytes under another name, or re-uploaded)."""
    for key in existing_partitions:
        if hash_of_partition(key) == data_hash[:HASH_CHARS]:
            return key
    return None


def processed_key(kind: str, partition_key: str, name: str) -> str:
    return f"{PROCESSED}/{kind}/{partition_key}{PurePosixPath(name).suffix.lower()}"


def rejected_key(kind: str, name: str, when: datetime) -> str:
    # The timestamp keeps two rejected uploads of the same name apart.
    return f"{REJECTED}/{kind}/{when.strftime('%Y%m%dT%H%M%S%fZ')}-{name.replace('/', '_')}"


# --- reading and validating -------------------------------------------------------------------------------------


def _read_table(name: str, data: bytes) -> pd.DataFrame:
    fmt = FORMATS.get(PurePosixPath(name).suffix.lower())
    if fmt is None:
        raise Reject("unsupported_format", f"{name}: expected one of {sorted(FORMATS)}")
    if not data.strip():
        raise Reject("empty", f"{name} has no content")
    try:
        if fmt == "csv":
            # Read as text: coercion is our decision (non_numeric), not the parser's.
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=True, skipinitialspace=True)
        else:
            frame = pd.read_parquet(io.BytesIO(data))
    except pd.errors.EmptyDataError as exc:
        raise Reject("empty", f"{name} has no header or rows") from exc
    except Exception as exc:  # any parser failure means the same thing to the sender
        raise Reject("unreadable", f"{name} is not valid {fmt}: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if frame.empty:
        raise Reject("empty", f"{name} has a header but no rows")
    return frame


def _canonical_columns(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    known = {c.lower(): c for c in (*REQUIRED[kind], *OPTIONAL[kind])}
    renamed = [known.get(str(c).strip().lower(), str(c).strip()) for c in frame.columns]
    repeated = sorted({c for c in renamed if renamed.count(c) > 1})
    missing = [c for c in REQUIRED[kind] if c not in renamed]
    unknown = [c for c in renamed if c not in known.values()]
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if unknown:
        problems.append(f"unknown {unknown}")
    if repeated:
        problems.append(f"repeated {repeated}")
    if problems:
        raise Reject("wrong_header", f"{kind} file: " + "; ".join(problems) + f" (expected {list(REQUIRED[kind])}"
                     f" and optionally {list(OPTIONAL[kind])})")
    out = frame.copy()
    out.columns = renamed
    return out


def _measurement_columns(frame: pd.DataFrame, kind: str) -> list[str]:
    return [c for c in dict.fromkeys((*REQUIRED[kind], TARGET.name, DENSITY.name)) if c in frame.columns]


def _coerce(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.copy()
    for column in _measurement_columns(frame, kind):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    if SYNTHETIC in out.columns:
        out[SYNTHETIC] = out[SYNTHETIC].astype(str).str.strip().str.lower().isin(("1", "true", "yes", "1.0"))
    if ID in out.columns:
        out[ID] = out[ID].astype(str)
    return out


def _check_numeric(frame: pd.DataFrame, coerced: pd.DataFrame, kind: str) -> None:
    mostly_text = {}
    for column in _measurement_columns(frame, kind):
        filled = frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        text = filled & coerced[column].isna()
        if filled.any() and text.sum() / filled.sum() > MAX_BAD_FRACTION:
            example = frame.loc[text, column].astype(str).iloc[0]
            mostly_text[column] = f"{int(text.sum())}/{int(filled.sum())} cells, e.g. {example!r}"
    if mostly_text:
        raise Reject("non_numeric", "; ".join(f"{c}: {d}" for c, d in mostly_text.items()))


def _check_repairable(coerced: pd.DataFrame, kind: str) -> None:
    bad = pd.Series(False, index=coerced.index)
    worst: dict[str, int] = {}
    for column in REQUIRED[kind]:
        spec = FEATURES_BY_NAME[column]
        broken = ~coerced[column].between(spec.low, spec.high)  # NaN counts as broken
        bad |= broken
        if broken.any():
            worst[column] = int(broken.sum())
    if bad.mean() > MAX_BAD_FRACTION:
        detail = ", ".join(f"{c} ({n})" for c, n in sorted(worst.items(), key=lambda kv: -kv[1])[:5])
        raise Reject("beyond_repair", f"{int(bad.sum())}/{len(coerced)} rows missing or outside the physiological "
                                      f"ranges (docs/landing.md); worst columns: {detail}")


def read_landed_file(kind: str, name: str, data: bytes) -> pd.DataFrame:
    """Parse and validate a landed file; return it with canonical column names and numeric measurements.

    Raises `Reject` with a code from REJECTION_CODES. Row-level problems short of MAX_BAD_FRACTION pass: cleaning
    quarantines those rows with reasons, like it does for the seed dataset.
    """
    if "/" in name:
        raise Reject("unsupported_location", f"{kind}/{name}: put files directly in {kind}/")
    frame = _canonical_columns(_read_table(name, data), kind)
    coerced = _coerce(frame, kind)
    _check_numeric(frame, coerced, kind)
    _check_repairable(coerced, kind)
    return coerced


@dataclass(frozen=True)
class Verdict:
    """What the landing sensor does with one new object."""

    obj: LandedObject
    action: str
    """'accept' (register partition, request a run), 'reject' (move to rejected/), 'skip' (in flight)."""
    partition_key: str | None = None
    rows: int = 0
    code: str = ""
    detail: str = ""


def classify(obj: LandedObject, data: bytes, existing_partitions: Iterable[str],
             processed_partitions: Iterable[str] = (), accepted_this_tick: Iterable[str] = ()) -> Verdict:
    """Decide one object: deduplicated by content against every partition of its kind, then validated."""
    existing = list(existing_partitions)
    data_hash = content_hash(data)
    key = partition_key_for(obj.name, data_hash)
    if key in existing and key not in set(processed_partitions):
        # Same name and bytes as a registered partition whose run has not moved it yet: in flight, not new.
        return Verdict(obj, "skip", partition_key=key, detail=f"partition {key} already registered, not yet processed")
    twin = duplicate_of(data_hash, [*existing, *accepted_this_tick])
    if twin:
        return Verdict(obj, "reject", code="duplicate_content", detail=f"same bytes as partition {twin}")
    try:
        frame = read_landed_file(obj.kind, obj.name, data)
    except Reject as rejection:
        return Verdict(obj, "reject", code=rejection.code, detail=rejection.detail)
    return Verdict(obj, "accept", partition_key=key, rows=len(frame))


def rejection_record(verdict: Verdict, landing_url: str, when: datetime) -> dict[str, object]:
    return {
        "file": f"{landing_url}/{verdict.obj.key}",
        "kind": verdict.obj.kind,
        "reason": verdict.code,
        "meaning": REJECTION_CODES.get(verdict.code, ""),
        "detail": verdict.detail,
        "etag": verdict.obj.etag,
        "size": verdict.obj.size,
        "rejected_at": when.isoformat(),
        "contract": "docs/landing.md",
    }


# --- moving: copy, verify, delete -------------------------------------------------------------------------------


def move_object(store: ObjectStore, source: str, destination: str, data: bytes | None = None) -> None:
    """Copy, read the copy back and compare, and only then delete the original: a failure at any step leaves the
    original where it was."""
    data = store.read_bytes(source) if data is None else data
    store.write_bytes(destination, data)
    if store.read_bytes(destination) != data:
        raise OSError(f"copy of {source} to {destination} does not match; original kept")
    store.delete(source)


def reject_object(store: ObjectStore, verdict: Verdict, data: bytes, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    destination = rejected_key(verdict.obj.kind, verdict.obj.name, when)
    record = rejection_record(verdict, store.url, when)
    store.write_bytes(f"{destination}.reason.json", json.dumps(record, indent=2).encode())
    move_object(store, verdict.obj.key, destination, data)
    return destination


# --- turning a landed file into rows ----------------------------------------------------------------------------


def raw_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A validated labeled file (or the seed CSV) as raw_bodyfat rows: source, row_id (1-based within the file),
    Density, BodyFat, the predictors, synthetic."""
    out = pd.DataFrame({SOURCE: source, ROW_ID: np.arange(1, len(frame) + 1)})
    for column in (DENSITY.name, TARGET.name, *FEATURE_NAMES):
        values = frame[column] if column in frame.columns else np.nan
        out[column] = pd.to_numeric(pd.Series(values, index=frame.index), errors="coerce").to_numpy(dtype=float)
    out[SYNTHETIC] = frame[SYNTHETIC].to_numpy(dtype=bool) if SYNTHETIC in frame.columns else False
    return out


def stable_test_mask(rows: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Test membership for rows of landed files, from a hash of (seed, source, row_id): a row keeps its side as
    files keep arriving, so a champion trained earlier is never scored on rows it was trained on. (The seed
    partition keeps its stratified split: its rows never change, so neither does that split.)"""
    keys = (f"{seed}:{source}:{row}" for source, row in zip(rows[SOURCE], rows[ROW_ID], strict=True))
    uniform = [int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / 16**12 for key in keys]
    return pd.Series(np.asarray(uniform, dtype=float) < test_fraction, index=rows.index, dtype=bool)


def scoring_rows(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """A validated scoring file as rows to score: source, row_id, id (the sender's, or empty), predictors."""
    out = pd.DataFrame({SOURCE: source, ROW_ID: np.arange(1, len(frame) + 1)})
    out[ID] = frame[ID].astype(str).to_numpy() if ID in frame.columns else ""
    for column in FEATURE_NAMES:
        out[column] = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    return out


def locate_partition_file(store: ObjectStore, kind: str, partition_key: str,
                          landing_name: str | None) -> tuple[str, bool]:
    """Where a partition's file is now: its processed copy (re-materialization) or the landed original.

    Returns (key, already_processed). `landing_name` comes from the run's tags; without it (a run started by hand)
    the landing folder is searched for a file whose name and bytes give this partition key.
    """
    processed = [k for k in store.list_keys(f"{PROCESSED}/{kind}/")
                 if PurePosixPath(k).stem == partition_key]
    if processed:
        return processed[0], True
    candidates = [f"{kind}/{landing_name}"] if landing_name else store.list_keys(f"{kind}/")
    for key in candidates:
        if store.exists(key) and partition_key_for(key.split("/", 1)[1], content_hash(store.read_bytes(key))) \
                == partition_key:
            return key, False
    raise FileNotFoundError(f"no file for partition {partition_key} in {store.url}/{kind}/ or "
                            f"{store.url}/{PROCESSED}/{kind}/ (changed or removed after it landed?)")


# --- retraining debounce ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrainDecision:
    retrain: bool
    reason: str


def retrain_decision(pending_rows: int, pending_files: int, seconds_since_last: float | None,
                     min_rows: int, min_interval_s: float) -> RetrainDecision:
    """Debounce: retrain once enough new rows arrived and enough time passed since the last retraining run.

    `seconds_since_last` is None when no model was ever trained: then any ingested data trains the first one.
    """
    if pending_files == 0:
        return RetrainDecision(False, "no file ingested since the last retraining run")
    if seconds_since_last is None:
        return RetrainDecision(True, f"first training: {pending_rows} rows in {pending_files} file(s)")
    if pending_rows < min_rows:
        return RetrainDecision(False, f"{pending_rows} new rows in {pending_files} file(s); waiting for {min_rows}")
    if seconds_since_last < min_interval_s:
        return RetrainDecision(False, f"{pending_rows} new rows, but the last retraining run started "
                                      f"{seconds_since_last:.0f} s ago (minimum {min_interval_s:.0f} s)")
    return RetrainDecision(True, f"{pending_rows} new rows in {pending_files} file(s) since the last retraining run")


def stale_scoring_partitions(partitions: Iterable[str], scored_with: Mapping[str, str],
                             champion_version: str | None) -> list[str]:
    """Scoring partitions whose latest predictions come from another model than the champion (or from none)."""
    if champion_version is None:
        return []
    return [p for p in partitions if scored_with.get(p) != str(champion_version)]
