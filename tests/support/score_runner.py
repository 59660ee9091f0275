"""One batch_predictions partition scored in a process of its own, started together with its peers: tests of
concurrent scoring runs (docs/scoring.md). Prints the run's outcome as JSON.

    DAGSTER_HOME=<instance dir> python -m tests.support.score_runner <BODYFAT_HOME> <partition> <landing name> \\
        <barrier dir> <peers>
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

BARRIER_TIMEOUT_S = 300.0


def main(home: str, partition: str, landing_name: str, barrier: str, peers: int) -> None:
    from dagster import DagsterInstance

    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.defs.jobs import SCORE_JOB
    from bodyfat_assets.partitions import landed_files_tags
    from bodyfat_assets.settings import Settings

    job = build_definitions(Settings.from_env({"BODYFAT_HOME": home, "BODYFAT_SCORING_BATCH_ROWS": "5000"})) \
        .resolve_job_def(SCORE_JOB)
    instance = DagsterInstance.get()
    # Imports take seconds on a loaded machine: every peer waits for the others, so the runs score at once.
    Path(barrier, partition).touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT_S
    while len(list(Path(barrier).iterdir())) < peers and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.time()
    result = job.execute_in_process(instance=instance, partition_key=partition,
                                    tags=landed_files_tags({partition: landing_name}), raise_on_error=False)
    print(json.dumps({"success": result.success, "run_id": result.run_id, "started": started,
                      "finished": time.time()}))


if __name__ == "__main__":
    main(*sys.argv[1:5], int(sys.argv[5]))
