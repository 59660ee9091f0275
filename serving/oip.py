"""The Open Inference Protocol (KServe V2) as pure functions: an inference request turned into contract rows, and
the answer turned into the protocol's response, so a client written for Triton, MLServer or KServe switches by URL.

A request carries either one FP64 input per contract feature, named as the feature, of shape [n] or [n, 1], or one
FP64 input of shape [n, 13] whose columns are the contract's features in order. Tensor data is JSON (flat or
nested, row-major) or Triton's binary tensor extension (`parameters.binary_data_size`, the JSON header's length in
the `Inference-Header-Content-Length` header), which `tritonclient` uses by default. Every value must be finite and
inside the contract's range; an error is `{"error": "..."}` naming the input. Outputs are `prediction`, `lower` and
`upper` (the 90% interval), FP64, shape [n]. The routes are in `serving.routes.v2`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from math import prod
from typing import Annotated, Any

import numpy as np
import pydantic_core
from bodyfat_contract import FEATURE_NAMES, FEATURES_BY_NAME
from pydantic import Field, TypeAdapter, ValidationError

from serving.body import longest_array

DATATYPE = "FP64"
OUTPUTS = ("prediction", "lower", "upper")
HEADER_LENGTH = "Inference-Header-Content-Length"
PLATFORM = "sklearn"
FEATURE_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_ITEM = np.dtype("<f8")
_Number = Annotated[float, Field(strict=True)]  # strict: true and "1.5" are refused, 3 is accepted
_FLAT: TypeAdapter[list[float]] = TypeAdapter(list[_Number])
_NESTED: TypeAdapter[list[list[float]]] = TypeAdapter(list[list[_Number]])
_SHAPES = f"one input per feature of shape [n] or [n, 1], or one input of shape [n, {len(FEATURE_NAMES)}]"


class V2Error(Exception):
    """An error the protocol reports as `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class InferRequest:
    """A validated request: rows in the contract's column order, and which outputs to return (name, binary)."""

    rows: np.ndarray
    outputs: tuple[tuple[str, bool], ...]
    id: str | None = None


def _quoted(name: Any) -> str:
    return repr(str(name)[:64])


def model_metadata(name: str, version: str) -> dict[str, Any]:
    """The model metadata response: the contract's features as named FP64 inputs, and the three outputs."""
    return {
        "name": name, "versions": [version], "platform": PLATFORM,
        "inputs": [{"name": feature, "datatype": DATATYPE, "shape": [-1]} for feature in FEATURE_NAMES],
        "outputs": [{"name": output, "datatype": DATATYPE, "shape": [-1]} for output in OUTPUTS],
    }  # fmt: skip


def _split(raw: bytes, header_length: str | None) -> tuple[bytes, memoryview]:
    """(JSON header, binary tensor data) of a body."""
    if header_length is None:
        return raw, memoryview(b"")
    if not header_length.strip().isdigit() or int(header_length) > len(raw):
        raise V2Error(400, f"{HEADER_LENGTH} must be the JSON header's byte count, at most the body's {len(raw)}")
    length = int(header_length)
    return raw[:length], memoryview(raw)[length:]


def _shape(name: str, spec: dict[str, Any], max_rows: int) -> list[int]:
    shape = spec.get("shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 2 or not all(
            type(d) is int and d >= 0 for d in shape):  # fmt: skip
        raise V2Error(400, f"input {name}: shape {str(shape)[:64]} is not a list of 1 or 2 sizes; send {_SHAPES}")
    if shape[0] > max_rows:
        raise V2Error(413, f"input {name}: batch of {shape[0]} rows exceeds the limit of {max_rows}")
    return shape


def _values(name: str, spec: dict[str, Any], count: int, binary: memoryview, offset: int) -> tuple[np.ndarray, int]:
    """The tensor's values (flat) and the binary offset after it."""
    parameters = spec.get("parameters") or {}
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    if size is not None:
        if type(size) is not int or size != count * _ITEM.itemsize or offset + size > len(binary):
            raise V2Error(400, f"input {name}: binary_data_size {str(size)[:20]} is not {count} FP64 values "
                               "(8 bytes each) present in the body")  # fmt: skip
        return np.frombuffer(binary[offset : offset + size], dtype=_ITEM).astype(np.float64), offset + size
    if "data" not in spec:
        raise V2Error(400, f"input {name} has neither data nor parameters.binary_data_size")
    try:
        flat = _FLAT.validate_python(spec["data"])
    except ValidationError:
        try:
            flat = [value for row in _NESTED.validate_python(spec["data"]) for value in row]
        except ValidationError:
            raise V2Error(400, f"input {name}: data must be numbers ({DATATYPE}), flat or nested") from None
    if len(flat) != count:
        raise V2Error(400, f"input {name}: {len(flat)} values do not fill its shape ({count} values)")
    return np.array(flat, dtype=np.float64), offset


def _check_range(label: str, column: np.ndarray, feature: str) -> None:
    spec = FEATURES_BY_NAME[feature]
    bad = ~((column >= spec.low) & (column <= spec.high))  # NaN compares false: caught too
    if bad.any():
        row = int(np.argmax(bad))
        value = column[row]
        why = "is not finite" if not np.isfinite(value) else f"is outside {spec.low:g}-{spec.high:g} {spec.unit}"
        raise V2Error(400, f"input {label} row {row}: {value:g} {why}")


def _rows(tensors: list[tuple[str, list[int], np.ndarray]]) -> np.ndarray:
    """(n, 13) rows in contract order from the validated tensors, or the error naming the input at fault."""
    if len(tensors) == 1 and len(tensors[0][1]) == 2 and tensors[0][0] not in FEATURE_NAMES:
        name, shape, values = tensors[0]
        if shape[1] != len(FEATURE_NAMES):
            order = ", ".join(FEATURE_NAMES)
            raise V2Error(400, f"input {_quoted(name)}: shape {shape} has {shape[1]} columns; [n, "
                               f"{len(FEATURE_NAMES)}] holds the features in order: {order}")  # fmt: skip
        rows = values.reshape(shape[0], len(FEATURE_NAMES))
        for j, feature in enumerate(FEATURE_NAMES):
            _check_range(f"{_quoted(name)} column {j} ({feature})", rows[:, j], feature)
        return rows
    by_name: dict[str, np.ndarray] = {}
    for name, shape, values in tensors:
        if name not in FEATURE_NAMES:
            raise V2Error(400, f"unknown input {_quoted(name)}: send {_SHAPES}; the features are "
                               f"{', '.join(FEATURE_NAMES)}")  # fmt: skip
        if name in by_name:
            raise V2Error(400, f"input {_quoted(name)} is sent twice")
        if len(shape) == 2 and shape[1] != 1:
            raise V2Error(400, f"input {_quoted(name)}: shape {shape} is not [n] or [n, 1]")
        by_name[name] = values
    missing = [feature for feature in FEATURE_NAMES if feature not in by_name]
    if missing:
        raise V2Error(400, f"missing input{'s' * (len(missing) > 1)} {', '.join(missing)}: send {_SHAPES}")
    n = len(by_name[FEATURE_NAMES[0]])
    for feature in FEATURE_NAMES:
        if len(by_name[feature]) != n:
            raise V2Error(400, f"input {_quoted(feature)} has {len(by_name[feature])} rows, "
                               f"input {_quoted(FEATURE_NAMES[0])} has {n}: all inputs need the same")  # fmt: skip
        _check_range(_quoted(feature), by_name[feature], feature)
    return np.column_stack([by_name[feature] for feature in FEATURE_NAMES]) if n else np.empty((0, len(FEATURE_NAMES)))


def _outputs(payload: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
    parameters = payload.get("parameters")
    default_binary = isinstance(parameters, dict) and parameters.get("binary_data_output") is True
    requested = payload.get("outputs")
    if requested is None:
        return tuple((name, default_binary) for name in OUTPUTS)
    if not isinstance(requested, list) or not all(isinstance(o, dict) for o in requested):
        raise V2Error(400, 'outputs must be a list of {"name": ...} objects')
    chosen = []
    for output in requested:
        if output.get("name") not in OUTPUTS:
            raise V2Error(400, f"unknown output {_quoted(output.get('name'))}: the outputs are {', '.join(OUTPUTS)}")
        params = output.get("parameters")
        binary = params.get("binary_data") if isinstance(params, dict) else None
        chosen.append((output["name"], default_binary if binary is None else binary is True))
    return tuple(chosen)


def parse_infer(raw: bytes, header_length: str | None, max_rows: int) -> InferRequest:
    """An inference request body validated against the contract, or a V2Error (400 naming the input, 413 over the
    row cap). JSON arrays longer than the cap allows are refused before parsing, as `/predict/batch` does."""
    header, binary = _split(raw, header_length)
    if longest_array(header) > max_rows * len(FEATURE_NAMES):
        raise V2Error(413, f"batch exceeds the limit of {max_rows} rows")
    try:
        payload = pydantic_core.from_json(header)
    except ValueError as exc:
        raise V2Error(400, f"the body is not JSON: {str(exc)[:200]}") from None
    inputs = payload.get("inputs") if isinstance(payload, dict) else None
    if not isinstance(inputs, list) or not inputs or not all(isinstance(spec, dict) for spec in inputs):
        raise V2Error(400, "the body must be a JSON object with a non-empty list of inputs")
    tensors, offset = [], 0
    for spec in inputs:
        if not isinstance(spec.get("name"), str):
            raise V2Error(400, "every input needs a name (a string)")
        name = _quoted(spec["name"])
        if spec.get("datatype") != DATATYPE:
            raise V2Error(400, f"input {name}: datatype {_quoted(spec.get('datatype'))} is not {DATATYPE}")
        shape = _shape(name, spec, max_rows)
        values, offset = _values(name, spec, prod(shape), binary, offset)
        tensors.append((spec["name"], shape, values))
    request_id = payload.get("id")
    return InferRequest(_rows(tensors), _outputs(payload), str(request_id)[:256] if request_id is not None else None)


def infer_response(
    request: InferRequest, model_name: str, version: str, values: np.ndarray, half_width: float,
    warnings: list[dict[str, Any]] | None = None,
) -> tuple[bytes, int | None]:
    """(body, JSON header length when binary outputs follow it, else None) for predictions `values`. Warnings ride
    in the response's `parameters`, the protocol's place for what its tensors cannot say."""
    arrays = {"prediction": values, "lower": values - half_width, "upper": values + half_width}
    outputs, blobs = [], []
    for name, binary in request.outputs:
        tensor: dict[str, Any] = {"name": name, "datatype": DATATYPE, "shape": [len(values)]}
        if binary:
            blob = arrays[name].astype(_ITEM).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = arrays[name].tolist()
        outputs.append(tensor)
    body: dict[str, Any] = {"model_name": model_name, "model_version": version, "outputs": outputs}
    if request.id is not None:
        body["id"] = request.id
    body["parameters"] = {"warnings": warnings or []}
    header = json.dumps(body, separators=(",", ":")).encode()
    return header + b"".join(blobs), (len(header) if blobs else None)


def _tensor_schema(datatype: str) -> dict[str, Any]:
    return {
        "type": "object", "required": ["name", "shape", "datatype"],
        "properties": {
            "name": {"type": "string", "description": "a feature, or any name for the [n, 13] input"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 2},
            "datatype": {"type": "string", "enum": [datatype]},
            "data": {"type": "array", "description": "row-major values, flat or nested"},
            "parameters": {"type": "object", "description": "binary_data_size: bytes in the binary part"},
        },
    }  # fmt: skip


INFER_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["inputs"],
    "description": f"Open Inference Protocol request: {_SHAPES}, the columns being {', '.join(FEATURE_NAMES)}",
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object", "description": "binary_data_output: answer in binary tensors"},
        "inputs": {"type": "array", "minItems": 1, "items": _tensor_schema(DATATYPE)},
        "outputs": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "enum": list(OUTPUTS)}, "parameters": {"type": "object"}}}},
    },
}  # fmt: skip
