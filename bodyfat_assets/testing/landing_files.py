"""Landed files for tests: encodings of a frame, and one bad file per rejection reason."""

import io
from pathlib import Path

import numpy as np
import pandas as pd

from bodyfat_assets.settings import BODYFAT_CSV


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def bad_files(labeled: pd.DataFrame) -> dict[str, tuple[str, bytes]]:
    """One file per rejection reason: name → (expected code, bytes)."""
    wrong_header = labeled.rename(columns={"Abdomen": "Waist"})
    non_numeric = labeled.assign(Weight=[f"{w} lb" for w in labeled["Weight"]])
    metric = labeled.assign(Height=labeled["Height"] * 2.54)  # centimetres where inches are expected
    return {
        "empty.csv": ("empty", b""),
        "header-only.csv": ("empty", csv_bytes(labeled.iloc[:0])),
        "notes.txt": ("unsupported_format", b"hello"),
        "broken.parquet": ("unreadable", b"PAR1 this is not parquet"),
        "binary.csv": ("unreadable", bytes(np.random.default_rng(0).integers(128, 256, 300, dtype=np.uint8))),
        "waist.csv": ("wrong_header", csv_bytes(wrong_header)),
        "units-in-cells.csv": ("non_numeric", csv_bytes(non_numeric)),
        "metric.csv": ("beyond_repair", csv_bytes(metric)),
    }


def repeated_measurements(men: pd.DataFrame, visits: int, random_state: int, jitter: float = 0.01) -> pd.DataFrame:
    """`visits` rows drawn with replacement from `men`, each measured again with `jitter` multiplicative noise on
    every tape measurement, weight and height (age and BodyFat as they were): the file of repeated measurements that
    once blocked every retrain (400 visits, 1 % jitter)."""
    rng = np.random.default_rng(random_state)
    rows = men.drop(columns=["Density"], errors="ignore").iloc[rng.integers(0, len(men), visits)]
    rows = rows.reset_index(drop=True)
    measured = [c for c in rows.columns if c not in ("BodyFat", "Age")]
    rows[measured] *= rng.normal(1, jitter, (visits, len(measured)))
    return rows


BAD_NAMES = list(bad_files(pd.read_csv(BODYFAT_CSV).iloc[:20]))


def write_scoring_csv(path: Path | str, rows: int, chunk_rows: int = 1_000_000) -> None:
    """A large scoring CSV written `chunk_rows` at a time (bounded memory): seed rows within the feature contract,
    resampled and jittered by up to 1 %, with a numeric `id` column. Used by tests and bench/scoring.py."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from bodyfat_contract import FEATURE_NAMES

    from bodyfat_assets.core.contract_checks import out_of_range

    seed = pd.read_csv(BODYFAT_CSV)
    base = seed.loc[out_of_range(seed, FEATURE_NAMES) == "", list(FEATURE_NAMES)].to_numpy()
    rng = np.random.default_rng(0)
    schema = pa.schema([("id", pa.int64()), *[(name, pa.float64()) for name in FEATURE_NAMES]])
    with pacsv.CSVWriter(str(path), schema) as out:
        for start in range(0, rows, chunk_rows):
            n = min(chunk_rows, rows - start)
            values = (base[rng.integers(0, len(base), n)] * rng.uniform(0.995, 1.005, (n, base.shape[1]))).round(2)
            columns = {"id": pa.array(np.arange(start, start + n))}
            columns.update({name: pa.array(values[:, i]) for i, name in enumerate(FEATURE_NAMES)})
            out.write_table(pa.table(columns, schema=schema))
