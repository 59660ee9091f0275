"""The platform's test harness, shared by tests/ and bench/: services on loopback (PostgreSQL, Redis, ports,
process groups), a daemon loop on a throwaway Dagster home, the Celery profile as local processes, in-process job
runs, landing files and registered contract models.

In the package, like `pandas.testing`, so a benchmark measures the same setup the tests prove without importing
tests/. Needs the dev extras (pytest, full mlflow); nothing the platform runs in production imports it.
"""
