"""The asset graph on another dataset, in a process of its own: the feature contract it imports is whichever
`bodyfat_contract` comes first on its PYTHONPATH, as for a user who edited the contract (docs/adapting.md). Ingests the
seed, retrains, scores the seed, as `make demo` does, and prints the outcome as JSON: the contract it saw, each run's
success (with the failures' messages) and every asset check.

    BODYFAT_HOME=<state dir> BODYFAT_SEED_DATASET=<seed csv> PYTHONPATH=<contract dir> \\
        python -m tests.support.adapted_pipeline
"""

from __future__ import annotations

import json


def main() -> None:
    import bodyfat_contract
    from dagster import DagsterInstance

    from bodyfat_assets.core.landing.naming import SEED_PARTITION
    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.defs.jobs import INGEST_JOB, PIPELINE_JOB, SCORE_JOB
    from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES
    from bodyfat_assets.settings import Settings

    settings = Settings.from_env()
    definitions = build_definitions(settings)
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    runs: dict[str, bool] = {}
    checks: dict[str, bool] = {}
    failures: list[str] = []
    with DagsterInstance.local_temp(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
        instance.add_dynamic_partitions(SCORING_FILES.name, [SEED_PARTITION])
        for job_name, partition in ((INGEST_JOB, SEED_PARTITION), (PIPELINE_JOB, None), (SCORE_JOB, SEED_PARTITION)):
            result = definitions.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=partition, raise_on_error=False)
            runs[job_name] = result.success
            checks.update({f"{c.asset_key.to_user_string()}:{c.check_name}": c.passed
                           for c in result.get_asset_check_evaluations()})
            failures += [event.message for event in result.all_events if event.is_failure]
            if not result.success:
                break
    print(json.dumps({"contract_file": bodyfat_contract.__file__, "raw_columns": list(bodyfat_contract.RAW_COLUMNS),
                      "runs": runs, "checks": checks, "failures": failures}))


if __name__ == "__main__":
    main()
