"""bodyfat: an end-to-end ML platform on Dagster.

This package root deliberately imports nothing heavy: `bodyfat_assets.core` (pure data and ML code) and
`bodyfat_assets.core.schema` (shared with `serving/`) must be importable without Dagster. Dagster loads the
definitions from `bodyfat_assets.definitions`.
"""
