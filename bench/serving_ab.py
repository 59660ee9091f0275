"""Interleaved A/B of this project's API with two champions: single-row throughput under the same load.

    python bench/serving_ab.py [--rounds 8] [--duration 5] [--families ridge ensemble]
    python bench/serving_ab.py --api-key-ab ridge     # the same champion with and without X-API-Key
    python bench/serving_ab.py --log-ab ridge         # the prediction log off, on (a local lake), and on with the
                                                      # shadow challenger (same family, another version); then the
                                                      # API's peak RSS over 100,000 logged predictions, lake down
                                                      # (--down-shadow: with the challenger scoring them too)

On a machine shared with other jobs, `bench/serving.py`'s one-server-after-another runs drift with the load (the
same ridge server measured 175 and 304 req/s ten minutes apart). Here both servers run at once and wrk alternates
between them (A B, B A, …), so both see the same load; the medians and their ratio are printed. Throughput still
swings ±40 % between rounds on a loaded machine, so each server's CPU time per request (user + system, read from
the process before and after each round) is printed too: it does not depend on how much of the CPU the server got,
and its ratio is what the capacity ratio would be on an otherwise idle core.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bodyfat_contract import model_features  # noqa: E402

from bench.serving import API_KEY, register, server, wrk  # noqa: E402
from bodyfat_assets.testing.contract_model import training_frame  # noqa: E402
from bodyfat_assets.testing.services import free_port  # noqa: E402


def listening_process(url: str) -> psutil.Process:
    """The server process behind `url` (bench.serving.server yields only the address)."""
    port = urlparse(url).port
    for connection in psutil.net_connections(kind="tcp"):
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN:
            return psutil.Process(connection.pid)
    raise RuntimeError(f"no process listens on {url}")


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load per run (bounded)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--families", nargs=2, default=["ridge", "ensemble"], choices=["ridge", "hgb", "ensemble"])
    parser.add_argument("--api-key-ab", choices=["ridge", "hgb", "ensemble"],
                        help="instead of two families: this family's champion without and with an API key")
    parser.add_argument("--log-ab", choices=["ridge", "hgb", "ensemble"],
                        help="instead of two families: this family's champion with the prediction log off, on, and "
                             "on with a shadow challenger")
    parser.add_argument("--down-predictions", type=int, default=100_000,
                        help="--log-ab: predictions sent with the lake down while the API's RSS is sampled")
    parser.add_argument("--down-shadow", action="store_true", help="--log-ab: the lake-down run shadows a challenger")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    # arm label → (family, server kind, request headers)
    arms = ({args.api_key_ab: (args.api_key_ab, "ours", {}),
             f"{args.api_key_ab}+key": (args.api_key_ab, "ours_key", {"X-API-Key": API_KEY})} if args.api_key_ab
            else {f"{args.log_ab}+log-{state}": (args.log_ab, "ours", {}) for state in ("off", "on", "on+shadow")}
            if args.log_ab else {family: (family, "ours", {}) for family in args.families})
    body = json.dumps({k: float(v) for k, v in training_frame()[model_features()].iloc[0].items()})
    with tempfile.TemporaryDirectory(prefix="bench-serving-ab-") as tmp, ExitStack() as stack:
        urls, processes = {}, {}
        for arm, (family, kind, _) in arms.items():
            workdir = Path(tmp) / arm
            workdir.mkdir()
            model_uri, env = register(family, workdir)
            if args.log_ab:  # the same lake for all; only the switches differ
                env = {**env, "BODYFAT_SERVING_LAKE_URL": str(Path(tmp) / "lake"),
                       "BODYFAT_SERVING_PREDICTION_LOG": "false" if arm.endswith("log-off") else "true"}
                if arm.endswith("shadow"):
                    env = {**env, **register_challenger(family)}
            urls[arm] = stack.enter_context(server(kind, model_uri, env, workdir))
            processes[arm] = listening_process(urls[arm])
            if arm.endswith("shadow"):
                import httpx

                shadowed = httpx.get(urls[arm] + "/ready", timeout=10).json()["shadow"]["version"]
                assert shadowed is not None, "the shadow arm has no challenger"
        order = list(arms)
        runs: dict[str, list[dict]] = {arm: [] for arm in order}
        for round_ in range(args.rounds):
            for arm in order if round_ % 2 == 0 else order[::-1]:
                before = cpu_seconds(processes[arm])  # wrk's 2 s warm-up included, and its requests
                result = wrk(urls[arm] + "/predict", body, args.duration, args.connections, Path(tmp),
                             headers=arms[arm][2])
                answered = result["requests"] + result["warm_up_requests"]
                result["cpu_us"] = 1e6 * (cpu_seconds(processes[arm]) - before) / answered
                runs[arm].append(result)
                print(f"round {round_ + 1}/{args.rounds} {arm}: {result['rps']:.0f} req/s, "
                      f"p99 {result['p99']:.1f} ms, {result['cpu_us']:.0f} µs CPU per request, "
                      f"errors {result['errors'] + result['non2xx']}", flush=True)
        for arm in order:
            if arm.endswith("shadow"):
                print(f"{arm}: {metric(urls[arm], 'bodyfat_shadow_predictions_total'):.0f} rows scored by the "
                      f"challenger, {metric(urls[arm], 'bodyfat_shadow_failures_total'):.0f} failed (at the writer's "
                      f"last write: it scores what it writes)")
    medians = {family: statistics.median(r["rps"] for r in results) for family, results in runs.items()}
    cpu = {family: statistics.median(r["cpu_us"] for r in results) for family, results in runs.items()}
    for family, results in runs.items():
        print(f"{family}: median {medians[family]:.0f} req/s (runs {[round(r['rps']) for r in results]}), "
              f"median p99 {statistics.median(r['p99'] for r in results):.1f} ms, "
              f"median {cpu[family]:.0f} µs CPU per request")
    first = order[0]
    for other in order[1:]:
        print(f"ratio {other}/{first}: {medians[other] / medians[first]:.2f} req/s; "
              f"{cpu[first] / cpu[other]:.2f} in requests per CPU second")
    if args.log_ab:
        lake_down_rss(args.log_ab, body, args.down_predictions, args.connections, args.down_shadow)


def register_challenger(family: str) -> dict[str, str]:
    """A second version of `register`'s model (ridge: another alpha) under `challenger`, in the registry `register`
    just set up; the environment that shadows it."""
    from bodyfat_assets.testing.contract_model import log_contract_model

    log_contract_model(f"bench_{family}", family=family, alpha=50.0, alias="challenger")
    return {"BODYFAT_SERVING_SHADOW_CHALLENGER": "true"}


def metric(url: str, name: str) -> float:
    import httpx

    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def lake_down_rss(family: str, body: str, predictions: int, connections: int, shadow: bool) -> None:
    """The API's peak RSS while `predictions` single rows are answered and logged to an S3 lake that refuses
    connections (a closed port): the queue holds its bound, the rest is dropped. `shadow`: a challenger scores the
    held rows too."""
    with tempfile.TemporaryDirectory(prefix="bench-log-down-") as tmp:
        workdir = Path(tmp)
        model_uri, env = register(family, workdir)
        if shadow:
            env = {**env, **register_challenger(family)}
        env = {**env, "BODYFAT_SERVING_LAKE_URL": "s3://bench-lake/lake",
               "S3_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}", "AWS_ACCESS_KEY_ID": "bench",
               "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        with server("ours", model_uri, env, workdir) as url:
            process = listening_process(url)
            start_rss, peak, done = process.memory_info().rss, [0], threading.Event()

            def sample() -> None:
                while not done.is_set():
                    peak[0] = max(peak[0], process.memory_info().rss)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            answered = 0
            while answered < predictions:
                result = wrk(url + "/predict", body, 5, connections, workdir)
                answered = int(metric(url, "bodyfat_predicted_rows_total"))
                print(f"  lake down: {answered} predictions answered, "
                      f"{int(metric(url, 'bodyfat_prediction_log_dropped_total'))} dropped, "
                      f"RSS {process.memory_info().rss / 2**20:.0f} MiB, "
                      f"{result['rps']:.0f} req/s, p99 {result['p99']:.1f} ms, "
                      f"errors {result['errors'] + result['non2xx']}", flush=True)
            done.set()
            sampler.join()
            queued = metric(url, "bodyfat_prediction_log_queued")
            print(f"lake down{' with a shadow challenger' if shadow else ''}: {answered} predictions, "
                  f"{queued:.0f} queued (the bound), "
                  f"{metric(url, 'bodyfat_prediction_log_dropped_total'):.0f} dropped; RSS at start "
                  f"{start_rss / 2**20:.0f} MiB, peak {peak[0] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
