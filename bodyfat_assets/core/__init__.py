"""Pure core: data rules, features, tuning and evaluation. No Dagster import anywhere below this package."""
