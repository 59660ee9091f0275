"""CPU cost of the prediction log per prediction, offline: the request path (queueing one entry) and the writer
(columns, Parquet, a memory sink), with and without the shadow challenger scoring the rows.

    python bench/prediction_log_writer.py [--rows 5000] [--repeats 2]

CPU time of this process (time.process_time), so another job's load changes it less than wall time.
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prometheus_client import CollectorRegistry  # noqa: E402

from bodyfat_assets.testing.serving_fakes import registry_model  # noqa: E402
from serving.model_store import LoadedModel  # noqa: E402
from serving.prediction_log import PredictionLog, single_entry  # noqa: E402
from serving.schemas import EXAMPLE_RECORD  # noqa: E402
from serving.shadow import Shadow  # noqa: E402


class MemorySink:
    url = "memory://"

    def put(self, key: str, data: bytes) -> None:
        pass


class HeldChallenger:
    """What `Shadow` reads of a model store: the challenger it holds."""

    def __init__(self, model: LoadedModel) -> None:
        self.current, self.last_outcome, self.warming = model, None, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import fastparquet  # noqa: F401 - imported up front, as the writer thread does
    import pandas  # noqa: F401

    champion, challenger = registry_model("1"), registry_model("2", offset=3.0)
    for _ in range(args.repeats):
        for label in ("log", "log+shadow"):
            registry = CollectorRegistry()
            shadow = Shadow(HeldChallenger(challenger), registry) if label == "log+shadow" else None  # type: ignore[arg-type]
            plog = PredictionLog(MemorySink(), registry, max_rows=10**7, flush_s=3600, flush_rows=10**7, shadow=shadow)
            start = time.process_time()
            for _ in range(args.rows):
                single_entry(plog, "/predict", champion, EXAMPLE_RECORD, 12.0)
            queued = time.process_time() - start
            start = time.process_time()
            assert plog.flush()
            written = time.process_time() - start
            print(f"{label}: request path {1e6 * queued / args.rows:.1f} µs per prediction, "
                  f"writer {1e6 * written / args.rows:.1f} µs per row ({args.rows} rows)", flush=True)


if __name__ == "__main__":
    main()
