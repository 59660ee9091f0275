"""Cleaning rules. Every flagged row goes to quarantine with named reasons; nothing is silently dropped.

A rule looks at the whole frame and returns, per row, a human-readable reason or None. Rules are independent,
so a row can carry several reasons (row 182 is both impossible and inconsistent with Siri's equation). A rule that
reads named columns (`Rule.needs`) applies only when the feature contract declares them all: on a dataset without
Density and Height (docs/adapting.md) the two body-fat rules do not apply, the generic ones do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from bodyfat_contract import DENSITY_COLUMNS, FEATURE_NAMES, RAW_COLUMNS, ROW_ID, TARGET

from bodyfat_assets.core.contract_checks import out_of_range
from bodyfat_assets.core.landing.validation import ORIGIN, SYNTHETIC
from bodyfat_assets.core.withdrawal import WITHDRAWN_RULE, withdrawal_findings

SIRI_TOLERANCE = 1.0
"""Percentage points. Rounding in the published table stays well under this; a copy error does not."""
MIN_BODYFAT = 2.0
"""Essential fat alone is about 2-5 % in men: a lower value cannot be a measurement."""
MIN_HEIGHT_IN = 48.0
"""An adult man under 4 ft with a normal weight is a typo, not a subject (row 42: 29.5 in for 205 lb)."""
BODY_FAT, BODY_DENSITY, HEIGHT = "BodyFat", "Density", "Height"
"""The columns the body-fat rules read, by the names the body-fat contract gives them."""

REQUIRED_COLUMNS: tuple[str, ...] = (TARGET.name, *FEATURE_NAMES)
SOURCE = "source"
"""Optional column naming the landed file (partition) a row came from; row ids are unique only within a source."""
PASSTHROUGH_COLUMNS: tuple[str, ...] = (SYNTHETIC, ORIGIN)
"""Carried along untouched when present, so a synthetic row stays recognisable downstream and cross-validation can
keep rows of one origin in one fold."""


def siri_bodyfat(density: pd.Series) -> pd.Series:
    """Siri (1956): percent body fat from body density in g/cm3."""
    return 495.0 / density - 450.0


def _missing(df: pd.DataFrame) -> pd.Series:
    def reason(row: pd.Series) -> str | None:
        missing = [c for c in REQUIRED_COLUMNS if pd.isna(row[c])]
        return f"missing or non-numeric: {', '.join(missing)}" if missing else None

    return df.apply(reason, axis=1)


def _siri_mismatch(df: pd.DataFrame) -> pd.Series:
    """Body fat's label check: BodyFat against Siri(Density). Does not apply under a contract without both."""
    expected = siri_bodyfat(df[BODY_DENSITY])
    bad = (df[BODY_FAT] - expected).abs() > SIRI_TOLERANCE
    return pd.Series(
        np.where(
            bad,
            [f"BodyFat {b:g} disagrees with Siri(Density {d:g}) = {e:.1f}" for b, d, e in
             zip(df[BODY_FAT], df[BODY_DENSITY], expected, strict=True)],
            None,
        ),
        index=df.index,
        dtype=object,
    )


def _impossible(df: pd.DataFrame) -> pd.Series:
    """Body fat's physiological floors (BodyFat, Height). Does not apply under a contract without both."""
    def reason(row: pd.Series) -> str | None:
        found = []
        if row[BODY_FAT] < MIN_BODYFAT:
            found.append(f"BodyFat {row[BODY_FAT]:g} % below the physiological minimum {MIN_BODYFAT:g}")
        if row[HEIGHT] < MIN_HEIGHT_IN:
            found.append(f"Height {row[HEIGHT]:g} in below {MIN_HEIGHT_IN:g} in")
        return "; ".join(found) or None

    return df.apply(reason, axis=1)


def _out_of_range(df: pd.DataFrame) -> pd.Series:
    # Missing values have their own rule; the ranges are the feature contract's, checked by the one shared function.
    reasons = out_of_range(df, [c for c in (*REQUIRED_COLUMNS, *DENSITY_COLUMNS) if c in df.columns], missing=False)
    return reasons.where(reasons != "", None).astype(object)


def _duplicate(df: pd.DataFrame) -> pd.Series:
    # Measurements only: the same subject sent in two files is one subject, whatever the file (source) says.
    measured = [c for c in RAW_COLUMNS if c in df.columns]
    label = df[SOURCE].astype(str) + " row " + df[ROW_ID].astype(str) if SOURCE in df.columns \
        else "row " + df[ROW_ID].astype(str)
    first_of = label.groupby([df[c] for c in measured], dropna=False, sort=False).transform("first")
    repeated = df.duplicated(subset=measured, keep="first")
    return pd.Series(
        np.where(repeated, [f"duplicate of {r}" for r in first_of], None), index=df.index, dtype=object
    )


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[pd.DataFrame], pd.Series]
    needs: tuple[str, ...] = ()
    """Columns the rule reads by name. It applies only when the contract declares every one of them: Siri's
    equation says nothing about a dataset without Density and BodyFat."""

    def applies(self, declared: Sequence[str] = RAW_COLUMNS) -> bool:
        return set(self.needs) <= set(declared)


RULES: tuple[Rule, ...] = (
    Rule("missing", _missing),
    Rule("siri_mismatch", _siri_mismatch, needs=(BODY_DENSITY, BODY_FAT)),
    Rule("impossible", _impossible, needs=(BODY_FAT, HEIGHT)),
    Rule("out_of_range", _out_of_range),
    Rule("duplicate", _duplicate),
)
APPLICABLE_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES if rule.applies())
"""The rules `clean` runs: those whose columns the feature contract declares."""


@dataclass(frozen=True)
class CleaningResult:
    cleaned: pd.DataFrame
    quarantine: pd.DataFrame
    """The flagged rows, unchanged, plus `rules` (names, comma-separated) and `reasons` (human-readable)."""


def normalize_raw(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce measurement columns to float (a non-numeric cell becomes NaN, caught by the `missing` rule).

    Keeps `source` (first) and the passthrough columns when present; drops anything else.
    """
    out = df.copy()
    if ROW_ID not in out.columns:
        out.insert(0, ROW_ID, np.arange(1, len(out) + 1))
    for column in DENSITY_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    for column in RAW_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    leading = [SOURCE] if SOURCE in out.columns else []
    trailing = [c for c in PASSTHROUGH_COLUMNS if c in out.columns]
    return out[[*leading, ROW_ID, *RAW_COLUMNS, *trailing]]


def clean(raw: pd.DataFrame, suspect_sources: Mapping[str, str] | None = None,
          withdrawn_sources: Mapping[str, str] | None = None) -> CleaningResult:
    """`suspect_sources`: file (source) → why its labels are suspect (core/health/evidence.py). Every row of such a
    file is quarantined for review under the rule `suspect_labels`, whatever the other rules say.
    `withdrawn_sources`: file → why an operator took it back (core/withdrawal.py): quarantined under `withdrawn`."""
    df = normalize_raw(raw)
    findings = pd.DataFrame({rule.name: rule.check(df) for rule in APPLICABLE_RULES}, index=df.index)
    if suspect_sources and SOURCE in df.columns:
        findings["suspect_labels"] = df[SOURCE].map(dict(suspect_sources)).astype(object)
    if withdrawn_sources and SOURCE in df.columns:
        findings[WITHDRAWN_RULE] = withdrawal_findings(df[SOURCE], withdrawn_sources)
    flagged = findings.notna().any(axis=1)
    quarantine = df[flagged].copy()
    quarantine["rules"] = findings[flagged].apply(lambda r: ",".join(r.dropna().index), axis=1)
    quarantine["reasons"] = findings[flagged].apply(lambda r: "; ".join(r.dropna()), axis=1)
    return CleaningResult(
        cleaned=df[~flagged].reset_index(drop=True),
        quarantine=quarantine.reset_index(drop=True).astype({"rules": str, "reasons": str}),
    )
