"""The production jobs, importable by name so Dagster can rebuild them in each step process (`reconstructable`):
the multiprocess executor starts a fresh Python per step, which finds its services through the same os.environ."""

from dagster import JobDefinition

from bodyfat_assets import definitions
from bodyfat_assets.defs import jobs
from bodyfat_assets.settings import Settings


def production_job(name: str) -> JobDefinition:
    settings = Settings.from_env()
    assert settings.is_production, "set BODYFAT_ENV=production before building the production jobs"
    return definitions.build_definitions(settings).resolve_job_def(name)


def production_ingest() -> JobDefinition:
    """The job that materializes one raw_bodyfat partition (one landed file)."""
    return production_job(jobs.INGEST_JOB)
