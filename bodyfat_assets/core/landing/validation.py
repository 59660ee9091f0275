"""Reading and checking one landed file: the file contract of docs/landing.md."""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

import pandas as pd
import pyarrow as pa
from bodyfat_contract import CALLER_ID, DENSITY_COLUMNS, FEATURE_NAMES, TARGET
from bodyfat_contract.prediction_log import PREDICTION_ID

from bodyfat_assets.core.contract_checks import violations
from bodyfat_assets.core.landing.csv_text import csv_text_batches
from bodyfat_assets.core.landing.naming import LABELS, SCORE, TRAIN
from bodyfat_assets.core.landing.reject import Reject

SYNTHETIC = "synthetic"
ORIGIN = "origin"
"""Optional text naming what a labeled row is a measurement or copy of: rows sharing an origin (visits of one man, the
feed's copies of one seed row, which name it `seed:<row_id>`) or a row whose `source:row_id` is another's origin
share one cross-validation fold (`core/splits.cv_groups`)."""
ID = CALLER_ID
FORMATS: dict[str, str] = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
REQUIRED: dict[str, tuple[str, ...]] = {TRAIN: (TARGET.name, *FEATURE_NAMES), SCORE: FEATURE_NAMES,
                                        LABELS: (TARGET.name,)}  # fmt: skip
OPTIONAL: dict[str, tuple[str, ...]] = {
    TRAIN: (*DENSITY_COLUMNS, SYNTHETIC, ORIGIN),
    # A scoring file may carry the target (e.g. to compare predictions later); it is kept but never used.
    SCORE: (ID, SYNTHETIC, TARGET.name, *DENSITY_COLUMNS),
    # A label names its served prediction by the id the API returned, or by the caller's own id: at least one.
    LABELS: (PREDICTION_ID, ID),
}
KEYS: dict[str, tuple[str, ...]] = {LABELS: (PREDICTION_ID, ID)}
"""Kinds whose rows must name something: at least one of these columns, and a row with none of them is bad."""
MAX_BAD_FRACTION = 0.5
"""A few bad cells are a measurement problem: the rows go to quarantine. When most values of a column are text, or
most rows are missing values or lie outside the physiological ranges, the file is a wrong export (other units,
shifted columns) and no row-level repair applies: the whole file is rejected."""

SCORE_CSV_BLOCK_BYTES = 1 << 20
"""The sensor reads a small scoring file whole (at most the large-file bound) in blocks of this size."""

REJECTION_CODES: dict[str, str] = {
    "unsupported_format": "not a .csv or .parquet file",
    "unsupported_location": "inside a sub-folder of train/ or score/",
    "empty": "no bytes, or a header without rows",
    "unreadable": "not parseable as CSV or Parquet",
    "wrong_header": "required columns missing, unknown or repeated columns",
    "non_numeric": "a measurement column that is mostly text",
    "beyond_repair": "most rows missing or outside the physiological ranges",
    "duplicate_content": "byte-identical to a file already ingested or being ingested",
    "run_failed": "its run failed again and again for a reason outside the file (drop it again to retry)",
}


def markup_or_json(data: bytes) -> str | None:
    """What a file that is not a table at all looks like, or None: an HTML error page saved instead of a download
    was reported as `wrong_header` with an unknown column '<html>', a JSON or XML error body as `empty`."""
    raw = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    head = raw.lower()
    title = re.search(rb"<title>(.{0,120}?)</title>", raw, re.DOTALL | re.IGNORECASE)
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]:
        found = f" titled {title.group(1).decode(errors='replace').strip()!r}" if title else ""
        return f"an HTML page{found} (an error page saved instead of the file?)"
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        code = re.search(rb"<code>(.{0,80}?)</code>", raw, re.IGNORECASE)
        return "an XML document" + (f" with error code {code.group(1).decode(errors='replace')!r}" if code else "")
    if head.startswith((b"{", b"[")):
        return f"JSON ({data[:120].decode(errors='replace').strip()!r})"
    return None


def _read_table(kind: str, name: str, data: bytes) -> pd.DataFrame:
    fmt = file_format(name)
    if not data.strip():
        raise Reject("empty", f"{name} has no content")
    if fmt == "csv" and (found := markup_or_json(data)):
        raise Reject("unreadable", f"{name} is {found}, not CSV")
    try:
        if fmt == "csv" and kind == SCORE:  # the scoring run's own parser, so the sensor and the run agree
            batches = list(csv_text_batches(io.BytesIO(data), name, SCORE_CSV_BLOCK_BYTES))
            frame = pa.Table.from_batches(batches).to_pandas() if batches else pd.DataFrame()
        elif fmt == "csv":
            # Read as text: coercion is our decision (non_numeric), not the parser's.
            frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=True, skipinitialspace=True)
        else:
            frame = pd.read_parquet(io.BytesIO(data))
    except Reject:
        raise
    except pd.errors.EmptyDataError as exc:
        raise Reject("empty", f"{name} has no header or rows") from exc
    except Exception as exc:  # any parser failure means the same thing to the sender
        raise Reject("unreadable", f"{name} is not valid {fmt}: {type(exc).__name__}: {str(exc)[:200]}") from exc
    if frame.empty:
        header = ",".join(map(str, frame.columns))
        raise Reject("empty", f"{name} has a header but no rows (header: {header[:120]!r})")
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
    if kind in KEYS and not set(KEYS[kind]) & set(renamed):
        problems.append(f"no key column (one of {list(KEYS[kind])})")
    if problems:
        raise Reject("wrong_header", f"{kind} file: " + "; ".join(problems) + f" (expected {list(REQUIRED[kind])}"
                     f" and optionally {list(OPTIONAL[kind])})" + _separator_hint(renamed))
    out = frame.copy()
    out.columns = renamed
    return out


def _separator_hint(names: list[str]) -> str:
    """A header read as one column holding `;` or tabs is another separator's export (European spreadsheets write
    `;`): say so, rather than leave the sender to read 14 names glued into one."""
    for separator, label in ((";", "semicolon"), ("\t", "tab")):
        if len(names) == 1 and names[0].count(separator) >= len(FEATURE_NAMES) // 2:
            return f"; the header looks {label}-separated: save the file with commas as separators"
    return ""


def _measurement_columns(frame: pd.DataFrame, kind: str) -> list[str]:
    return [c for c in dict.fromkeys((*REQUIRED[kind], TARGET.name, *DENSITY_COLUMNS)) if c in frame.columns]


def _coerce(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.copy()
    for column in _measurement_columns(frame, kind):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    if SYNTHETIC in out.columns:
        out[SYNTHETIC] = out[SYNTHETIC].astype(str).str.strip().str.lower().isin(("1", "true", "yes", "1.0"))
    for key in KEYS.get(kind, ()):
        if key in out.columns:
            # Missing stays missing (a label keyed by the other column), not the text 'nan'.
            out[key] = out[key].astype("string").str.strip().replace("", pd.NA).astype(object)
    if ID in out.columns and kind not in KEYS:
        out[ID] = out[ID].astype(str)
    if ORIGIN in out.columns:  # an empty cell is no origin (null), not the origin ''
        text = out[ORIGIN].astype("string").str.strip()
        out[ORIGIN] = text.astype(object).where(text.fillna("") != "", None)
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
    flags = violations(coerced, REQUIRED[kind])
    if kind in KEYS:
        flags["key"] = coerced[[c for c in KEYS[kind] if c in coerced.columns]].isna().all(axis=1)
    bad = flags.any(axis=1)
    if bad.mean() > MAX_BAD_FRACTION:
        worst = flags.sum().sort_values(ascending=False, kind="stable")
        detail = ", ".join(f"{column} ({count})" for column, count in worst[worst > 0].head(5).items())
        raise Reject("beyond_repair", f"{int(bad.sum())}/{len(coerced)} rows missing or outside the physiological "
                                      f"ranges (docs/landing.md); worst columns: {detail}")


def check_columns(kind: str, columns: list[str]) -> list[str]:
    """The header check alone (a Parquet footer's schema, a streamed file's header): the canonical names, in the
    file's order; raises `Reject("wrong_header", ...)`."""
    return list(_canonical_columns(pd.DataFrame(columns=columns), kind).columns)


def file_format(name: str) -> str:
    """`csv` or `parquet` by extension; raises `Reject("unsupported_format", ...)` otherwise."""
    fmt = FORMATS.get(PurePosixPath(name).suffix.lower())
    if fmt is None:
        raise Reject("unsupported_format", f"{name}: expected one of {sorted(FORMATS)}")
    return fmt


def read_landed_file(kind: str, name: str, data: bytes) -> pd.DataFrame:
    """Parse and validate a landed file; return it with canonical column names and numeric measurements.

    Raises `Reject` with a code from REJECTION_CODES. Row-level problems short of MAX_BAD_FRACTION pass: cleaning
    quarantines those rows with reasons, like it does for the seed dataset.
    """
    if "/" in name:
        raise Reject("unsupported_location", f"{kind}/{name}: put files directly in {kind}/")
    frame = _canonical_columns(_read_table(kind, name, data), kind)
    coerced = _coerce(frame, kind)
    _check_numeric(frame, coerced, kind)
    _check_repairable(coerced, kind)
    return coerced
