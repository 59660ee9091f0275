"""Landed files for tests: encodings of a frame, and one bad file per rejection reason."""

import io

import numpy as np
import pandas as pd

from bodyfat_assets.settings import SEED_DATASET


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


BAD_NAMES = list(bad_files(pd.read_csv(SEED_DATASET).iloc[:20]))
