"""Helpers that turn frames and figures into Dagit metadata."""

from __future__ import annotations

import base64

import pandas as pd
from dagster import MetadataValue


def markdown_table(df: pd.DataFrame, max_rows: int = 50) -> MetadataValue:
    if df.empty:
        return MetadataValue.md("_none_")
    shown = df.head(max_rows)
    lines = ["| " + " | ".join(map(str, shown.columns)) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    if len(df) > max_rows:
        lines.append(f"\n_{len(df) - max_rows} more rows not shown_")
    return MetadataValue.md("\n".join(lines))


def _cell(value: object) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")


def image(png: bytes, title: str) -> MetadataValue:
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})")
