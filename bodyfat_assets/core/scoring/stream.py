"""Streamed batch scoring: a scoring file of any size is read in record batches (pyarrow's streaming CSV reader, a
Parquet file's row groups), each batch is checked against the feature contract and scored by `score`, and appended
to the predictions Parquet as one row group. Peak memory follows the batch size, not the file size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bodyfat_contract import FEATURE_NAMES, ROW_ID

from bodyfat_assets.core.cleaning import SOURCE
from bodyfat_assets.core.landing.csv_text import csv_header, csv_text_batches
from bodyfat_assets.core.landing.naming import SCORE
from bodyfat_assets.core.landing.validation import ID, Reject, check_columns, file_format
from bodyfat_assets.core.scoring import score

PREDICTIONS_SCHEMA = pa.schema([
    (SOURCE, pa.string()), (ROW_ID, pa.int64()), (ID, pa.string()), ("prediction", pa.float64()),
    ("lower_90", pa.float64()), ("upper_90", pa.float64()), ("model_version", pa.string()), ("issue", pa.string()),
])
UNSCORED_KEPT = 100
"""Unscored rows listed in the run's metadata (all of them are in the predictions file)."""
PREVIEW_ROWS = 10
DRIFT_SAMPLE_ROWS = 50_000
"""Rows of a file kept, uniformly at random, for its drift check: KS and PSI on 50,000 rows resolve any shift
that matters, and the sample's memory does not grow with the file."""


@dataclass
class ScoringSummary:
    """What a streamed scoring run reports: counts, a bounded sample of unscored rows, a preview, and a uniform
    sample of the rows' features for the drift check."""

    rows: int = 0
    unscored_rows: int = 0
    prediction_sum: float = 0.0
    unscored: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=[ROW_ID, ID, "issue"]))
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    feature_sample: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(FEATURE_NAMES)))
    _sample_keys: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def scored_rows(self) -> int:
        return self.rows - self.unscored_rows

    @property
    def mean_prediction(self) -> float:
        return self.prediction_sum / self.scored_rows if self.scored_rows else 0.0

    def add(self, rows: pd.DataFrame, table: pa.Table, rng: np.random.Generator) -> None:
        """Count one written batch (`rows` as scored, `table` as written) and update the bounded samples."""
        issues = table.column("issue").to_numpy(zero_copy_only=False)
        bad = pd.notna(issues)
        self.rows += table.num_rows
        self.unscored_rows += int(bad.sum())
        self.prediction_sum += float(np.nansum(table.column("prediction").to_numpy(zero_copy_only=False)))
        if len(self.unscored) < UNSCORED_KEPT and bad.any():
            more = pd.DataFrame({ROW_ID: rows[ROW_ID].to_numpy()[bad], ID: rows[ID].to_numpy()[bad],
                                 "issue": issues[bad]}).head(UNSCORED_KEPT - len(self.unscored))
            self.unscored = pd.concat([self.unscored, more], ignore_index=True) if len(self.unscored) else more
        if len(self.preview) < PREVIEW_ROWS:
            more = table.slice(0, PREVIEW_ROWS - len(self.preview)).to_pandas()
            self.preview = pd.concat([self.preview, more], ignore_index=True) if len(self.preview) else more
        # Bottom-k of uniform keys over every row seen: a uniform sample without replacement, in one pass. Once the
        # sample is full, only rows whose key beats its largest can enter.
        keys = rng.random(len(rows))
        if len(self._sample_keys) >= DRIFT_SAMPLE_ROWS:
            entering = keys < self._sample_keys.max()
            keys, rows = keys[entering], rows.loc[entering]
        if not len(keys):
            return
        keys = np.concatenate([self._sample_keys, keys])
        candidates = pd.concat([self.feature_sample, rows[list(FEATURE_NAMES)]], ignore_index=True) \
            if len(self.feature_sample) else rows[list(FEATURE_NAMES)].reset_index(drop=True)
        keep = np.argsort(keys, kind="stable")[:DRIFT_SAMPLE_ROWS]
        self._sample_keys, self.feature_sample = keys[keep], candidates.iloc[keep].reset_index(drop=True)


def _constant(text: str, length: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(length, dtype=np.int32)), pa.array([text])) \
        .cast(pa.string())


def predictions_table(rows: pd.DataFrame, scored: pd.DataFrame, source: str, model_version: str) -> pa.Table:
    """One batch's output rows in PREDICTIONS_SCHEMA, built column by column (no DataFrame round trip)."""
    n = len(rows)
    return pa.Table.from_arrays([
        _constant(source, n), pa.array(scored[ROW_ID].to_numpy(dtype=np.int64)),
        pa.array(rows[ID].to_numpy(), pa.string()),
        *(pa.array(scored[c].to_numpy(dtype=float)) for c in ("prediction", "lower_90", "upper_90")),
        _constant(model_version, n), pa.array(scored["issue"].to_numpy(), pa.string()),
    ], schema=PREDICTIONS_SCHEMA)


CSV_BLOCK_BYTES = 1 << 20
"""Bytes per block of pyarrow's streaming CSV reader. It reads up to 32 blocks ahead on its I/O thread, so the block
size sets the read-ahead: with blocks of one 100,000-row batch (8.9 MB) a 3M-row file's run peaked at 680 MB
against 508 MB at 1M rows, the whole file being read ahead; 1 MB blocks hold at most 32 MB, whatever the file."""


def _rebatched(blocks: Iterator[pa.RecordBatch], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Record batches of exactly `batch_rows` rows (the last one shorter), from blocks of any size."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for block in blocks:
        pending.append(block)
        count += block.num_rows
        while count >= batch_rows:
            merged = pa.concat_batches(pending)
            rest = merged.slice(batch_rows)
            yield merged.slice(0, batch_rows)
            pending, count = ([rest] if rest.num_rows else []), rest.num_rows
    if count:
        yield pa.concat_batches(pending)


def read_batches(file: BinaryIO, name: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """The file's record batches of `batch_rows` rows with canonical column names (the landing contract's header
    check, `Reject` otherwise). CSV columns stay text: turning text into numbers is the contract's decision, per
    cell."""
    if file_format(name) == "csv":
        canonical = check_columns(SCORE, [n.strip() for n in csv_header(file)])
        for batch in _rebatched(csv_text_batches(file, name, CSV_BLOCK_BYTES), batch_rows):
            yield batch.rename_columns(canonical)
        return
    parquet = pq.ParquetFile(file)
    canonical = check_columns(SCORE, list(parquet.schema_arrow.names))
    for batch in parquet.iter_batches(batch_size=batch_rows):
        yield batch.rename_columns(canonical)


def _numbers(column: pa.Array) -> np.ndarray:
    """A column as float64 with NaN for missing values and for text that is not a number."""
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
        except pa.ArrowInvalid:  # text in a number column: the slow path, for this batch and column only
            return pd.to_numeric(column.to_pandas(), errors="coerce").to_numpy(dtype=float)
    elif not pa.types.is_floating(column.type):
        column = pc.cast(column, pa.float64(), safe=False)
    return column.to_numpy(zero_copy_only=False).astype(float, copy=False)


def batch_frame(batch: pa.RecordBatch, source: str, first_row_id: int) -> pd.DataFrame:
    """One batch as rows to score: source, row_id (1-based across the file), id (the sender's, or ''), predictors."""
    rows = pd.DataFrame({SOURCE: source, ROW_ID: np.arange(first_row_id, first_row_id + batch.num_rows)})
    names = batch.schema.names
    if ID in names:
        ids = batch.column(names.index(ID))
        rows[ID] = pc.fill_null(pc.cast(ids, pa.string()), "").to_numpy(zero_copy_only=False)
    else:
        rows[ID] = ""
    for feature in FEATURE_NAMES:
        rows[feature] = _numbers(batch.column(names.index(feature)))
    return rows


def score_file(file: BinaryIO, name: str, source: str, model: Any, card: dict[str, Any], model_version: str,
               output: str | Path, batch_rows: int, seed: int = 0) -> ScoringSummary:
    """Score every row of a scoring file (CSV or Parquet, by `name`) into the Parquet file `output`, one row group
    per batch of `batch_rows` (`BODYFAT_SCORING_BATCH_ROWS`): every input row appears once, scored or with its
    `issue`. On any error `output` is removed, so only a complete file is ever published. Raises `Reject` for a
    header that breaks the contract."""
    summary, rng, next_row_id = ScoringSummary(), np.random.default_rng(seed), 1
    try:
        with pq.ParquetWriter(output, PREDICTIONS_SCHEMA) as writer:
            for batch in read_batches(file, name, batch_rows):
                if batch.num_rows == 0:
                    continue
                rows = batch_frame(batch, source, next_row_id)
                scored = score(model, card, rows, model_version)
                table = predictions_table(rows, scored, source, model_version)
                writer.write_table(table)
                summary.add(rows, table, rng)
                next_row_id += batch.num_rows
    except BaseException:
        Path(output).unlink(missing_ok=True)
        raise
    if summary.rows == 0:
        Path(output).unlink(missing_ok=True)
        raise Reject("empty", f"{name} has a header but no rows")
    return summary
