"""Settings groups as Dagster config, derived from their declarations so a knob is never typed again here.

A Dagster resource may hold nested config, but only `dagster.Config` classes of plain types (Dagster 1.13.27 refuses
a plain pydantic model such as `TuningSettings`, and tuples, Literals and Paths). `dagster_config(group)` builds the
mirror: the group's fields under the same names, as plain types with plain defaults, and `build()` validates the
values back into the group itself, whose methods (`tuning_config`, `drift_thresholds`, ...) do every conversion.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import typing
from pathlib import Path
from types import UnionType
from typing import Any, ClassVar, Literal

import dagster as dg
from pydantic import BaseModel, PrivateAttr, TypeAdapter, create_model

from bodyfat_assets.lake import Lake
from bodyfat_assets.settings import (
    DataSettings,
    HealthSettings,
    LandingSettings,
    PromotionSettings,
    ScoringSettings,
    TrackingConfig,
    TuningSettings,
)


class GroupConfig(dg.Config):
    """A settings group as a resource's nested config; `build()` is the group, validated again."""

    mirrored: ClassVar[type]
    _built: Any = PrivateAttr(default=None)

    @classmethod
    def of(cls, group: Any) -> Any:
        """The config holding `group`'s values (JSON-like: a tuple becomes a list, a Path a string)."""
        return cls(**TypeAdapter(cls.mirrored).dump_python(group, mode="json"))

    def build(self) -> Any:
        if self._built is None:  # built once per resource: a Lake keeps its stores (and their S3 clients)
            self._built = self.mirrored(**self.model_dump())
        return self._built


def _plain(annotation: Any) -> Any:
    """The Dagster-config type of a field: tuples as lists, Literals and Paths as strings."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, UnionType):
        return functools.reduce(operator.or_, (_plain(arg) for arg in args))
    if origin is tuple:
        return list[_plain(args[0])]  # type: ignore[misc]
    if origin is Literal:
        return type(args[0])
    return str if annotation is Path else annotation


def _fields(group: type) -> dict[str, tuple[Any, Any]]:
    """(annotation, default) of each field of a pydantic model or a dataclass; `...` when required."""
    if issubclass(group, BaseModel):
        return {name: (info.annotation, ... if info.is_required() else info.get_default(call_default_factory=True))
                for name, info in group.model_fields.items()}
    hints = typing.get_type_hints(group)
    return {f.name: (hints[f.name], ... if f.default is dataclasses.MISSING else f.default)
            for f in dataclasses.fields(group)}


def dagster_config(group: type) -> type[GroupConfig]:
    """The Dagster config mirroring `group` (a settings group, a pydantic model or a dataclass)."""
    fields = {}
    for name, (annotation, default) in _fields(group).items():
        plain = _plain(annotation)
        fields[name] = (plain, default if default is ... else TypeAdapter(annotation).dump_python(default, mode="json"))
    mirror = create_model(f"{group.__name__}Config", __base__=GroupConfig, __module__=__name__, **fields)
    mirror.mirrored = group
    mirror.__doc__ = f"`{group.__name__}` as Dagster config (see `group_config.py`)."
    return mirror


TuningGroup = dagster_config(TuningSettings)
DataGroup = dagster_config(DataSettings)
PromotionGroup = dagster_config(PromotionSettings)
ScoringGroup = dagster_config(ScoringSettings)
HealthGroup = dagster_config(HealthSettings)
LandingGroup = dagster_config(LandingSettings)
TrackingGroup = dagster_config(TrackingConfig)
LakeGroup = dagster_config(Lake)
