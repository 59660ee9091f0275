"""bodyfat: an end-to-end ML platform on Dagster.

This package root deliberately imports nothing heavy: `bodyfat_assets.core` (pure data and ML code) must be
importable without Dagster. The feature contract shared with `serving/` is its own package, `bodyfat_contract`
(contract/). Dagster loads the definitions from `bodyfat_assets.definitions`.
"""
