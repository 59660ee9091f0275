"""Serving benchmark: `mlflow models serve` vs this project's API vs a bare-FastAPI ceiling, same champion.

    python bench/serving.py [--duration 10] [--connections 16] [--families ridge hgb ensemble]

One bounded run on 127.0.0.1 only: for each model family it registers a champion in a throwaway SQLite registry,
then starts one server at a time (1 worker each) and measures
  * single-row POSTs with wrk (-t1 -c16, fixed duration, Lua script for the body): req/s, p50, p99, errors;
  * one 10,000-row request, median of --batch-runs (mlflow: `dataframe_split`; ours: columnar and list of records);
  * ours again with an API key configured (the key check must not cost throughput), and single-row latency while
    one client loops 10,000-row columnar batches (a batch must not stall single rows).
The ceiling app parses the same validated `Record` body and returns a constant: no model, no metrics.
Needs `wrk` (Debian: apt-get install -y wrk). Results are printed as a Markdown table.
"""


import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bodyfat_contract import model_features  # noqa: E402

from bodyfat_assets.settings import process_environment  # noqa: E402
from bodyfat_assets.testing.services import free_port, process_group, wait_until  # noqa: E402

BATCH_ROWS = 10_000
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
{extra_headers}
wrk.body = {body}
"""
API_KEY = "bench-key"


def with_venv_on_path(env: dict[str, str]) -> dict[str, str]:
    """`mlflow models serve --env-manager local` runs `uvicorn` found on PATH: put this interpreter's bin first, so
    `make bench-serving` works from a fresh clone without an activated virtualenv."""
    return {**env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])}


def ceiling_app():  # FastAPI app, imported lazily so the bench process stays light
    """Same body parsing as /predict (the Record TypedDict with bounds), no model, constant answer."""
    from typing import Annotated

    from fastapi import Body, FastAPI
    from fastapi.responses import JSONResponse

    from serving.schemas import Record

    app = FastAPI()

    @app.post("/predict")
    async def predict(record: Annotated[Record, Body()]) -> JSONResponse:
        return JSONResponse({"body_fat_pct": 0.0, "interval_low": 0.0, "interval_high": 0.0, "model_version": "0"})

    return app


def _http_ok(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
            return response.status == 200
    except OSError:
        return False


@contextmanager
def server(kind: str, model_uri: str, env: dict[str, str], workdir: Path,
           cold_start: dict[str, float] | None = None) -> Iterator[str]:  # fmt: skip
    """One server process; `cold_start[kind]` gets the seconds from its start to its health route answering 200."""
    port = free_port()
    env = with_venv_on_path(env)
    if kind == "mlflow":
        cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port), "-w", "1"]  # fmt: skip
        health = "/ping"
    elif kind.startswith("ours"):
        cmd = [sys.executable, "-m", "serving"]
        env = {**env, "BODYFAT_SERVING_FOLD_LINEAR": "false" if kind == "ours_sklearn" else "true",
               "BODYFAT_SERVING_HOST": "127.0.0.1", "BODYFAT_SERVING_PORT": str(port),
               "BODYFAT_SERVING_LOG_LEVEL": "warning", "OMP_NUM_THREADS": "1",
               **({"BODYFAT_SERVING_API_KEY": API_KEY} if kind == "ours_key" else {})}  # fmt: skip
        health = "/ready"
    else:
        cmd = [sys.executable, "-m", "uvicorn", "--factory", "bench.serving:ceiling_app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]  # fmt: skip
        health = "/docs"
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    with process_group(cmd, {**env, "PYTHONPATH": str(REPO)}, workdir / f"{kind}-{port}.log") as proc:

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited with {proc.returncode}; see {workdir}")
            return _http_ok(url + health)

        wait_until(up, 300, f"{kind} server", interval_s=0.05)  # mlflow took > 120 s at load 30
        if cold_start is not None:
            cold_start[kind] = time.perf_counter() - started
        yield url


def wrk(url: str, body: str, duration_s: int, connections: int, workdir: Path,
        headers: dict[str, str] | None = None) -> dict[str, float]:  # fmt: skip
    script = workdir / "post.lua"
    extra = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in (headers or {}).items())
    script.write_text(WRK_LUA.format(body=json.dumps(body), extra_headers=extra))
    # Warm-up: first requests pay for imports, JIT-free but cache-cold paths, connection setup.
    warm_up = subprocess.run(["wrk", "-t1", f"-c{connections}", "-d2s", "-s", str(script), url],
                             capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout", "5s", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=duration_s + 60,
    ).stdout  # fmt: skip

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        # requests answered in the run, and in the warm-up before it (for CPU time per request)
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "warm_up_requests": int(re.search(r"(\d+) requests in", warm_up).group(1)),
        "p50": latency_ms("50%"),
        "p99": latency_ms("99%"),
        "errors": sum(int(x) for x in errors.groups()) if errors else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def time_post(url: str, body: bytes, runs: int) -> tuple[float, dict]:
    """Median of `runs` timed POSTs after one warm-up (a median, not a best-of: the busy machine's tail counts)."""
    import statistics

    import httpx

    timings, last = [], {}
    with httpx.Client(timeout=120) as client:
        for _ in range(runs + 1):  # first run is a warm-up
            start = time.perf_counter()
            response = client.post(url, content=body, headers={"content-type": "application/json"})
            timings.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
            last = response.json()
    return statistics.median(timings[1:]), last


@contextmanager
def batch_loop(url: str, body: bytes) -> Iterator[list[float]]:
    """One client posting `body` back to back while the caller measures something else."""
    import threading

    import httpx

    stop, done = threading.Event(), []

    def loop() -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                client.post(url, content=body, headers={"content-type": "application/json"}).raise_for_status()
                done.append(1.0)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield done
    finally:
        stop.set()
        thread.join(timeout=120)


def register(family: str, workdir: Path) -> tuple[str, dict[str, str]]:
    import mlflow

    from bodyfat_assets.testing.contract_model import log_contract_model

    uri = f"sqlite:///{workdir}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    os.chdir(workdir)  # the SQLite store puts artifacts under ./mlartifacts
    name = f"bench_{family}"
    version = log_contract_model(name, family=family)
    env = process_environment(MLFLOW_TRACKING_URI=uri, BODYFAT_MODEL_NAME=name)
    return f"models:/{name}/{version}", env


def bench_family(family: str, args: argparse.Namespace, workdir: Path) -> dict[str, dict]:
    from bodyfat_assets.testing.contract_model import training_frame

    model_uri, env = register(family, workdir)
    features = model_features()
    frame = training_frame()
    row = {k: float(v) for k, v in frame[features].iloc[0].items()}
    big = frame[features].sample(BATCH_ROWS, replace=True, random_state=0)
    bodies = {
        "mlflow_one": json.dumps({"dataframe_split": {"columns": features, "data": [[row[f] for f in features]]}}),
        "ours_one": json.dumps(row),
        "mlflow_batch": json.dumps({"dataframe_split": {"columns": features, "data": big.values.tolist()}}).encode(),
        "ours_columns": json.dumps({"columns": {f: big[f].tolist() for f in features}}).encode(),
        "ours_records": json.dumps(big.to_dict(orient="records")).encode(),
    }
    results: dict[str, dict] = {}
    wrk_args = (args.duration, args.connections, workdir)
    cold: dict[str, float] = {}
    with server("mlflow", model_uri, env, workdir, cold) as url:
        results["mlflow"] = wrk(url + "/invocations", bodies["mlflow_one"], *wrk_args)
        results["mlflow"]["batch_ms"], reply = time_post(url + "/invocations", bodies["mlflow_batch"], args.batch_runs)
        reference = reply["predictions"][:3]
    with server("ours", model_uri, env, workdir, cold) as url:
        results["ours"] = wrk(url + "/predict", bodies["ours_one"], *wrk_args)
        results["ours"]["batch_ms"], reply = time_post(url + "/predict/batch", bodies["ours_columns"], args.batch_runs)
        assert all(abs(a - b) < 1e-6 for a, b in zip(reply["body_fat_pct"][:3], reference, strict=True)), "mismatch"
        results["ours"]["batch_records_ms"], _ = time_post(
            url + "/predict/batch", bodies["ours_records"], args.batch_runs
        )
        with batch_loop(url + "/predict/batch", bodies["ours_columns"]) as batches:
            results["ours_under_batches"] = wrk(url + "/predict", bodies["ours_one"], *wrk_args)
        results["ours_under_batches"]["batches_done"] = len(batches)
    # Seconds from process start to ready: mlflow's /ping, our /ready (champion loaded and warmed up).
    results["mlflow"]["cold_start_s"], results["ours"]["cold_start_s"] = cold["mlflow"], cold["ours"]
    with server("ours_key", model_uri, env, workdir) as url:
        results["ours_key"] = wrk(url + "/predict", bodies["ours_one"], *wrk_args, headers={"X-API-Key": API_KEY})
    if family in ("ridge", "ensemble"):  # the same API calling the sklearn pipeline instead of the folded model
        with server("ours_sklearn", model_uri, env, workdir) as url:
            results["ours_sklearn"] = wrk(url + "/predict", bodies["ours_one"], *wrk_args)
            results["ours_sklearn"]["batch_ms"], _ = time_post(
                url + "/predict/batch", bodies["ours_columns"], args.batch_runs
            )
    if family == args.families[0]:
        with server("ceiling", model_uri, env, workdir) as url:
            results["ceiling"] = wrk(url + "/predict", bodies["ours_one"], *wrk_args)
    return results


def table(all_results: dict[str, dict[str, dict]], args: argparse.Namespace) -> str:
    lines = [
        f"Single-row POSTs: wrk -t1 -c{args.connections} -d{args.duration}s on 127.0.0.1, 1 uvicorn worker each; "
        f"10k-row batch: median of {args.batch_runs} after a warm-up.",
        "",
        "| model | server | req/s | p50 ms | p99 ms | errors | 10k batch ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for family, results in all_results.items():
        for kind, label in (("mlflow", "`mlflow models serve`"), ("ours", "bodyfat API"),
                            ("ours_key", "bodyfat API with X-API-Key"),
                            ("ours_under_batches", "bodyfat API while one client loops 10k batches"),
                            ("ours_sklearn", "bodyfat API, sklearn predict (fold off)"), ("ceiling", "bare FastAPI")):
            if kind not in results:
                continue
            r = results[kind]
            batch = "-"
            if "batch_ms" in r:
                batch = f"{r['batch_ms']:.0f}" + (" (dataframe_split)" if kind == "mlflow" else " (columnar)")
            if "batch_records_ms" in r:
                batch += f" / {r['batch_records_ms']:.0f} (records)"
            lines.append(f"| {family if kind != 'ceiling' else 'none'} | {label} | {r['rps']:.0f} | {r['p50']:.2f} | "
                         f"{r['p99']:.2f} | {r['errors'] + r['non2xx']} | {batch} |")  # fmt: skip
        if "mlflow" in results and "ours" in results:
            m, o = results["mlflow"], results["ours"]
            lines.append(f"| {family} | **ratio ours/mlflow** | {o['rps'] / m['rps']:.1f}x | "
                         f"{o['p50'] / m['p50']:.2f}x | {o['p99'] / m['p99']:.2f}x | | "
                         f"{o['batch_ms'] / m['batch_ms']:.2f}x (columnar) / "
                         f"{o['batch_records_ms'] / m['batch_ms']:.2f}x (records) |")  # fmt: skip
            lines.append(f"| {family} | **cold start to ready** | ours {o['cold_start_s']:.1f} s (/ready) vs mlflow "
                         f"{m['cold_start_s']:.1f} s (/ping): {o['cold_start_s'] / m['cold_start_s']:.2f}x | | | | |")
        if "ours_key" in results and "ours" in results:
            lines.append(f"| {family} | **ratio with key/without** | "
                         f"{results['ours_key']['rps'] / results['ours']['rps']:.2f}x | | | | |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk load per server (bounded)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch-runs", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=["ridge", "hgb", "ensemble"],
                        choices=["ridge", "hgb", "ensemble"])  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write raw results here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    all_results = {}
    print(f"load average at the start: {os.getloadavg()[0]:.2f} (1 min)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        for family in args.families:
            workdir = Path(tmp) / family
            workdir.mkdir()
            all_results[family] = bench_family(family, args, workdir)
            print(f"{family}: {json.dumps(all_results[family])}", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(all_results, indent=2))
    print(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min)")
    print(table(all_results, args))


if __name__ == "__main__":
    main()
