"""Frames and figures as Dagster UI metadata: tables the UI sorts (MetadataValue.table with a TableSchema) and
inline PNG plots."""

from __future__ import annotations

import base64
import math

import pandas as pd
from bodyfat_contract import FEATURES_BY_NAME
from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableRecord, TableSchema

MAX_TABLE_ROWS = 50


def _column_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "string"


def _cell(value: object, kind: str) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if kind == "int":
        return int(value)  # type: ignore[call-overload]
    if kind == "float":
        return round(float(value), 4)  # type: ignore[arg-type]
    if kind == "bool":
        return bool(value)
    return str(value)


def table(df: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> MetadataValue:
    """The first `max_rows` rows of `df` as a typed table; the schema names every column even when it is empty."""
    kinds = {str(name): _column_type(df[name]) for name in df.columns}
    schema = TableSchema(columns=[TableColumn(name, kind) for name, kind in kinds.items()])
    records = [TableRecord({name: _cell(value, kinds[name]) for name, value in zip(kinds, row, strict=True)})
               for row in df.head(max_rows).itertuples(index=False)]
    return MetadataValue.table(records, schema=schema)


def image(png: bytes, title: str) -> MetadataValue:
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})")


def contract_column_schema(columns: list[str]) -> TableSchema:
    """The feature contract as the Dagster UI's column schema (`dagster/column_schema`): unit, meaning and range of
    each contract column, in the given order; other columns (source, row_id, ...) are listed untyped."""
    def column(name: str) -> TableColumn:
        spec = FEATURES_BY_NAME.get(name)
        if spec is None:
            return TableColumn(name)
        return TableColumn(name, "float", description=f"{spec.description} ({spec.unit})",
                           constraints=TableColumnConstraints(other=[f"{spec.low:g} ≤ {name} ≤ {spec.high:g}"]))
    return TableSchema(columns=[column(name) for name in columns])
