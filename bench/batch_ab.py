"""Interleaved A/B of two checkouts' serving API on one champion: 10,000-row batch requests, both bodies.

    python bench/batch_ab.py OLD_TREE [NEW_TREE] [--family ridge] [--rounds 12]

OLD_TREE and NEW_TREE are directories holding a `serving/` package (e.g. `git archive <commit> serving | tar -x -C
/tmp/old`; NEW_TREE defaults to this checkout). Both servers run at once; each round posts the columnar body and the
list of records to both, in alternating order (A B, B A, …), so both see the same load. Prints the median wall time
of each, each server's CPU time per request (which does not depend on how much of the CPU it got) and the load
average: `bench/serving.py` measures one server after another, minutes apart.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bodyfat_contract import model_features  # noqa: E402

from bench.serving import BATCH_ROWS, register, with_venv_on_path  # noqa: E402
from bench.serving_ab import cpu_seconds, listening_process  # noqa: E402
from bodyfat_assets.testing.contract_model import training_frame  # noqa: E402
from bodyfat_assets.testing.services import free_port, process_group, wait_until  # noqa: E402


def start(stack: ExitStack, tree: Path, env: dict[str, str], workdir: Path) -> str:
    import httpx

    port = free_port()
    env = {**with_venv_on_path(env), "PYTHONPATH": str(tree), "BODYFAT_SERVING_HOST": "127.0.0.1",
           "BODYFAT_SERVING_PORT": str(port), "BODYFAT_SERVING_LOG_LEVEL": "warning",
           "OMP_NUM_THREADS": "1"}  # fmt: skip
    stack.enter_context(process_group([sys.executable, "-m", "serving"], env, workdir / f"serving-{port}.log"))
    url = f"http://127.0.0.1:{port}"

    def champion() -> bool:
        try:
            return httpx.get(url + "/ready", timeout=2).json().get("source") == "registry"
        except (httpx.HTTPError, ValueError):
            return False

    wait_until(champion, 300, f"server from {tree}", interval_s=0.1)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=REPO)
    parser.add_argument("--family", default="ridge", choices=["ridge", "hgb", "ensemble"])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args()
    import httpx

    features = model_features()
    big = training_frame()[features].sample(BATCH_ROWS, replace=True, random_state=0)
    bodies = {"columns": json.dumps({"columns": {f: big[f].tolist() for f in features}}).encode(),
              "records": json.dumps(big.to_dict(orient="records")).encode()}  # fmt: skip
    trees = {"A": args.old.resolve(), "B": args.new.resolve()}
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-batch-ab-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        _, env = register(args.family, workdir)
        urls = {arm: start(stack, tree, env, workdir) for arm, tree in trees.items()}
        processes = {arm: listening_process(url) for arm, url in urls.items()}
        timings: dict[tuple[str, str], list[float]] = {(arm, kind): [] for arm in trees for kind in bodies}
        cpu = dict.fromkeys(timings, 0.0)
        with httpx.Client(timeout=120) as client:
            for round_ in range(args.rounds + 1):  # round 0 warms up
                for kind, body in bodies.items():
                    for arm in ("A", "B") if round_ % 2 == 0 else ("B", "A"):
                        before, started = cpu_seconds(processes[arm]), time.perf_counter()
                        client.post(urls[arm] + "/predict/batch", content=body,
                                    headers={"content-type": "application/json"}).raise_for_status()  # fmt: skip
                        if round_:
                            timings[(arm, kind)].append((time.perf_counter() - started) * 1000)
                            cpu[(arm, kind)] += cpu_seconds(processes[arm]) - before
    print(f"load average at the end: {os.getloadavg()}")
    for kind in bodies:
        medians = {arm: statistics.median(timings[(arm, kind)]) for arm in trees}
        for arm, tree in trees.items():
            print(f"{args.family} {kind} {arm} ({tree}): median {medians[arm]:.1f} ms "
                  f"(min {min(timings[(arm, kind)]):.1f}, {args.rounds} requests), "
                  f"{1000 * cpu[(arm, kind)] / args.rounds:.1f} ms server CPU per request")  # fmt: skip
        print(f"{args.family} {kind}: B/A {medians['B'] / medians['A']:.2f}")


if __name__ == "__main__":
    main()
