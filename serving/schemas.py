"""Request and response models, generated from the shared feature schema so bounds live in one place.

Records are `TypedDict`s rather than `BaseModel`s: pydantic validates them into plain dicts without building a
model instance per row, which matters for a 10,000-record batch. Every feature is a strict, finite float inside the
schema's [low, high]: strings, booleans, NaN and +/-Infinity are rejected with a 422 naming the field.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

import pydantic_core
from bodyfat_contract import CALLER_ID, FEATURES, Feature
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from serving.errors import BATCH_TOO_LARGE, COLUMNS_UNEQUAL
from serving.records import records_as_columns

# Row 1 of the seed dataset (Johnson 1996): realistic values for the OpenAPI examples.
EXAMPLE_RECORD: dict[str, float] = {
    "Age": 23, "Weight": 154.25, "Height": 67.75, "Neck": 36.2, "Chest": 93.1, "Abdomen": 85.2, "Hip": 94.5,
    "Thigh": 59.0, "Knee": 37.3, "Ankle": 21.9, "Biceps": 32.0, "Forearm": 27.4, "Wrist": 17.1,
}  # fmt: skip
DEFAULT_MAX_ROWS = 10_000


def bounded_float(feature: Feature) -> Any:
    return Annotated[
        float,
        Field(
            strict=True,
            ge=feature.low,
            le=feature.high,
            allow_inf_nan=False,
            description=f"{feature.description} ({feature.unit}), {feature.low}-{feature.high}",
        ),
    ]


# The caller's own key for a row, optional: returned nowhere, kept in the prediction log so labels can be joined by it.
CallerId = Annotated[str, StringConstraints(min_length=1, max_length=128)] | Annotated[int, Field(strict=True)]
Record = TypedDict(  # type: ignore[misc]
    "Record", {**{f.name: bounded_float(f) for f in FEATURES}, CALLER_ID: NotRequired[CallerId]}
)
Record.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
    extra="forbid", title="Record", json_schema_extra={"examples": [EXAMPLE_RECORD]}
)

Columns = TypedDict(  # type: ignore[misc]
    "Columns", {**{f.name: list[bounded_float(f)] for f in FEATURES}, CALLER_ID: NotRequired[list[CallerId]]}
)
Columns.__pydantic_config__ = ConfigDict(extra="forbid", title="Columns")  # type: ignore[attr-defined]


class ColumnarBatch(BaseModel):
    """`{"columns": {"Age": [...], "Weight": [...], ...}}`: one list per feature, all the same length."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"columns": {k: [v, v] for k, v in EXAMPLE_RECORD.items()}}]},
    )
    columns: Columns

    @model_validator(mode="after")
    def _same_length(self) -> ColumnarBatch:
        lengths = {name: len(values) for name, values in self.columns.items()}
        expected = max(lengths.values(), default=0)
        short = [name for name, n in lengths.items() if n != expected]
        if short:
            raise PydanticCustomError(
                COLUMNS_UNEQUAL, "column {column} has {n} values, the longest has {expected}: all columns must have "
                "the same length", {"column": short[0], "n": lengths[short[0]], "expected": expected},
            )  # fmt: skip
        return self


def _batch_kind(value: Any) -> str:
    return "columns" if isinstance(value, dict) else "records"


class BatchRequest(RootModel):
    """Either a JSON list of records or a columnar object. The row limit comes from the validation context
    (`{"max_rows": n}`, the app's `max_batch_rows`), so one model serves every configuration."""

    root: Annotated[
        Annotated[list[Record], Tag("records")] | Annotated[ColumnarBatch, Tag("columns")],
        Discriminator(_batch_kind),
    ]

    @model_validator(mode="before")
    @classmethod
    def _limit_size(cls, value: Any, info: ValidationInfo) -> Any:
        # Counted on the raw JSON before any per-value validation, so an oversized batch is rejected cheaply (413).
        limit = (info.context or {}).get("max_rows", DEFAULT_MAX_ROWS)
        rows = len(value) if isinstance(value, list) else 0
        if isinstance(value, dict) and isinstance(value.get("columns"), dict):
            rows = max((len(v) for v in value["columns"].values() if isinstance(v, list)), default=0)
        if rows > limit:
            raise PydanticCustomError(BATCH_TOO_LARGE, "batch of {rows} rows exceeds the limit of {limit}",
                                      {"rows": rows, "limit": limit})  # fmt: skip
        return value


# The batch body is parsed by hand, so its schema is published explicitly: the request body refers to
# `#/components/schemas/...`, and the app adds these definitions to its OpenAPI document.
BATCH_REQUEST_SCHEMA: dict[str, Any] = BatchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
BATCH_SCHEMA_DEFS: dict[str, Any] = BATCH_REQUEST_SCHEMA.pop("$defs", {})
RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)
BATCH_ADAPTER: TypeAdapter[BatchRequest] = TypeAdapter(BatchRequest)
_FEATURE_NAMES = tuple(f.name for f in FEATURES)
_ROW_VALUES = operator.itemgetter(*_FEATURE_NAMES)
_WITH_ID = (*_FEATURE_NAMES, CALLER_ID)
_ROW_VALUES_WITH_ID = operator.itemgetter(*_WITH_ID)


def _records_as_columns(rows: Any, max_rows: int) -> dict[str, list[Any]] | None:
    """{feature: values} from a list of dicts that each have exactly the 13 features, else None. C-level map/zip:
    a Python loop over 10,000 rows to check keys and transpose cost ~50 ms on the busy machine, this ~10 ms."""
    if not isinstance(rows, list) or len(rows) > max_rows:
        return None
    try:
        lengths = set(map(len, rows))
        if rows and lengths not in ({len(_FEATURE_NAMES)}, {len(_WITH_ID)}):
            return None  # missing or extra keys (or rows that are not dicts)
        names, getter = (_WITH_ID, _ROW_VALUES_WITH_ID) if lengths == {len(_WITH_ID)} else (_FEATURE_NAMES, _ROW_VALUES)
        values = list(map(getter, rows))
    except (KeyError, TypeError):
        return None
    if not values:
        return {name: [] for name in _FEATURE_NAMES}
    return dict(zip(names, map(list, zip(*values, strict=True)), strict=True))


def _validated_as_columns(rows: Any, max_rows: int) -> BatchRequest | None:
    """A list of records validated as columns, or None if it has another shape or a bad value (the caller then
    validates it as records, so the error names its row). Validating 10,000 `Record`s field by field took ~8x the
    JSON parse (~240 ms against ~30 ms on the busy project machine); 13 strict float lists take a few ms."""
    return _columns_validated(_records_as_columns(rows, max_rows), max_rows)


def _columns_validated(columns: dict[str, list[Any]] | None, max_rows: int) -> BatchRequest | None:
    if columns is None:
        return None
    try:
        return BATCH_ADAPTER.validate_python({"columns": columns}, context={"max_rows": max_rows})
    except ValidationError:
        return None


def validate_batch_json(raw: bytes, max_rows: int) -> BatchRequest:
    """A batch body (JSON bytes) validated against the contract. A list of records is validated as columns: read
    as lists of numbers when it is plain (`serving.records`), else parsed once into dicts and transposed."""
    if raw.lstrip()[:1] == b"[":
        plain = records_as_columns(raw, _FEATURE_NAMES, max_rows)
        try:
            if plain is not None:  # the same columns the dicts would give: a bad value is reported below
                fast = _columns_validated(plain, max_rows)
            else:
                fast = _validated_as_columns(pydantic_core.from_json(raw), max_rows)
        except ValueError:
            fast = None  # invalid JSON: the validation below reports it
        if fast is not None:
            return fast
    return BATCH_ADAPTER.validate_json(raw, context={"max_rows": max_rows})


def validate_batch_python(value: Any, max_rows: int) -> BatchRequest:
    """The same for an already parsed body (MLflow's `/invocations` formats)."""
    return _validated_as_columns(value, max_rows) or BATCH_ADAPTER.validate_python(
        value, context={"max_rows": max_rows}
    )


class PredictionWarning(BaseModel):
    """Why an estimate deserves less trust than its interval says (serving.population)."""

    code: Literal["outside_training_population"]
    distance: float = Field(description="Mahalanobis distance of the log measurements from the training rows")
    threshold: float = Field(description="the largest distance any training row has: beyond it, extrapolation")
    message: str


class RowWarning(PredictionWarning):
    row: int = Field(description="the row's index in the request")


class PredictResponse(BaseModel):
    body_fat_pct: float = Field(description="predicted body fat (%)")
    interval_low: float = Field(description="lower bound of the 90% prediction interval")
    interval_high: float = Field(description="upper bound of the 90% prediction interval")
    model_name: str = Field(description="the registered model's name (`fallback` for the bundled model)")
    model_version: str
    model_source: Literal["registry", "fallback"]
    warnings: list[PredictionWarning] = Field(description="empty unless the input is far from the training data")
    prediction_id: str = Field(description="this prediction's id in the prediction log (also the X-Prediction-Id "
                                           "header): send it back with the measured body fat")


class BatchResponse(BaseModel):
    """Columnar, in request order: cheaper to encode than 10,000 small objects."""

    n: int
    body_fat_pct: list[float]
    interval_low: list[float]
    interval_high: list[float]
    model_name: str
    model_version: str
    model_source: Literal["registry", "fallback"]
    warnings: list[RowWarning] = Field(description="only the rows far from the training data, by index")
    prediction_ids: list[str] = Field(description="one id per row, `<batch id>-<row>` (the batch id is the "
                                                  "X-Prediction-Id header)")


class FeatureInfo(BaseModel):
    name: str
    unit: str
    low: float
    high: float
    description: str


class ModelInfo(BaseModel):
    name: str
    version: str
    alias: str | None
    source: Literal["registry", "fallback"]
    run_id: str | None
    family: str | None
    trained_at: str | None
    interval_half_width_90: float
    metrics: dict[str, float]
    features: list[FeatureInfo]


class ReadyResponse(BaseModel):
    status: Literal["ready", "degraded", "not_ready"]
    reason: Literal["champion", "no_champion", "no_registry", "registry_error", "champion_rejected", "no_model"]
    source: Literal["registry", "fallback"] | None
    version: str | None
    warming: str | None = Field(default=None, description="the version loaded and warmed up before it takes traffic")
    last_check: dict[str, Any] | None
    prediction_log: dict[str, Any] | None = Field(None, description="the prediction log: sink, queued, written, "
                                                  "dropped (queue full), last error")
    shadow: dict[str, Any] | None = Field(None, description="the shadow challenger: version scored (null without "
                                          "one), rows scored and failed")


class ReloadResponse(BaseModel):
    outcome: str
    version: str | None
    source: Literal["registry", "fallback"] | None
    detail: str | None
