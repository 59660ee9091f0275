"""`bodyfat demo`: materialize everything on the embedded default, report, then serve the Dagster UI (sensors
running), the MLflow UI and the prediction API. The terminal gets progress, the report and each URL once its service
answers; the full logs go to `<BODYFAT_HOME>/logs/` (demo.log: the runs; dagster.log, mlflow.log, api.log).
`bodyfat feed --labeled N --scoring M`: drop synthetic batches into the landing zone.
`bodyfat withdraw <partition> --reason "..."`: take a labeled file back (its rows leave the next retrain).

Configuration comes from `bodyfat_assets.settings` like everything else: e.g. BODYFAT_TRIALS (trial budget),
BODYFAT_NO_UI=1 (stop after the report, for scripts), BODYFAT_HOME (state folder, default ./.bodyfat),
DAGSTER_WEBSERVER_PORT / MLFLOW_PORT / API_PORT (3000 / 5000 / 8000).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bodyfat_contract import FEATURE_NAMES

from bodyfat_assets.settings import PROJECT_ROOT, Settings, process_environment

# The first subject of the seed dataset, for the demo's curl (BodyFat 12.3 %).
SAMPLE_ROW = (23, 154.25, 67.75, 36.2, 93.1, 85.2, 94.5, 59.0, 37.3, 21.9, 32.0, 27.4, 17.1)


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
"""The demo log keeps progress (trials, decisions), not Dagster's ~420 DEBUG step events; every event is still in
the instance, in the Dagster UI's run view."""
JOB_LABELS = {"ingest_labeled_file": "ingest the seed file", "bodyfat_pipeline": "clean, split, tune, promote",
              "score_batch": "score the seed rows", "health_report": "health report"}


def logs_dir(settings: Settings) -> Path:
    path = settings.home / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def output_to(log_path: Path) -> Iterator[TextIO]:
    """Everything this process writes to stdout and stderr goes to `log_path` (Dagster's console logger, MLflow's
    prints, warnings such as the partitioned-check ones); yields a stream to the real terminal for progress.
    File descriptors, not sys.stdout: libraries hold their own references to the streams."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved[0]), "w", buffering=1)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, original in zip((1, 2), saved, strict=True):
                os.dup2(original, fd)
                os.close(original)
            terminal.close()


def materialize_all(settings: Settings, run_config: dict | None = None,
                    progress: Callable[[str], None] = print) -> dict:
    """Ingest the seed partition, retrain, score the seed rows, report health: four runs in this process, recorded
    in the settings' DAGSTER_HOME instance so the Dagster UI shows them. Works from a fresh clone: the `seed`
    partitions are registered first (the landing sensor would do the same, a tick later)."""
    from dagster import DagsterInstance

    from bodyfat_assets.core.landing.naming import SEED_PARTITION
    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.defs.jobs import HEALTH_JOB, INGEST_JOB, PIPELINE_JOB, SCORE_JOB
    from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES
    from bodyfat_assets.pools import initialize_pool_limits

    defs = build_definitions(settings)
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        initialize_pool_limits(instance)  # before `dagster dev`'s daemon first dequeues
        for partitions in (LABELED_FILES, SCORING_FILES):
            if not instance.has_dynamic_partition(partitions.name, SEED_PARTITION):
                instance.add_dynamic_partitions(partitions.name, [SEED_PARTITION])
        results = {}
        for job_name, partition, config in ((INGEST_JOB, SEED_PARTITION, None), (PIPELINE_JOB, None, run_config),
                                            (SCORE_JOB, SEED_PARTITION, None), (HEALTH_JOB, None, None)):
            started = time.monotonic()
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, raise_on_error=False, run_config={**QUIET_CONSOLE, **(config or {})},
                partition_key=partition)
            if not result.success:
                failed = [e.step_key for e in result.all_events if e.is_step_failure]
                raise SystemExit(f"{job_name} failed at {failed}; see the Dagster UI or the demo's log")
            progress(f"  {JOB_LABELS.get(job_name, job_name):<28} done in {time.monotonic() - started:.1f} s")
            results[job_name] = result
        checks = [c for r in results.values() for c in r.get_asset_check_evaluations()]
        return {
            "run_id": results[PIPELINE_JOB].run_id,
            "run_ids": {job: r.run_id for job, r in results.items()},
            "tuned_model": results[PIPELINE_JOB].output_for_node("tuned_model"),
            "champion": results[PIPELINE_JOB].output_for_node("champion"),
            "checks": {c.check_name: c.passed for c in checks},
        }


def report(outcome: dict, settings: Settings) -> list[str]:
    import pandas as pd

    from bodyfat_assets.tracking import Tracker

    champion = outcome["champion"]
    tracker = Tracker(settings.tracking_config())
    model, card = tracker.load_model(str(champion.champion_version))
    sample = pd.read_csv(PROJECT_ROOT / "data" / "bodyfat.csv")
    row = sample.loc[[0], list(FEATURE_NAMES)]
    prediction = float(model.predict(row[card["features"]])[0])
    half = card["interval_half_width_90"]
    return [
        "", "=== bodyfat demo ===",
        f"Dagster run       {outcome['run_id']}  (checks: "
        f"{sum(outcome['checks'].values())}/{len(outcome['checks'])} passed)",
        f"Challenger        v{champion.challenger_version}: {champion.decision} ({champion.reason})",
        f"Champion          {settings.model_name} v{champion.champion_version} ({card['family']})",
        f"Test metrics      RMSE {card['test_rmse']:.3f}  MAE {card['test_mae']:.3f}  R² {card['test_r2']:.3f}  "
        f"(90% interval ±{half:.2f})",
        f"Sample prediction {json.dumps(row.iloc[0].to_dict())}",
        f"                  → {prediction:.1f} % body fat, 90% interval [{prediction - half:.1f}, "
        f"{prediction + half:.1f}] (measured: {sample.loc[0, 'BodyFat']} %)",
        f"MLflow            {settings.mlflow_tracking_uri}",
    ]


def _start(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    # Own process group: `dagster dev` started from a script ignores SIGINT (STACK.md), so we stop whole groups.
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=log,
                                stderr=subprocess.STDOUT)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback services
            return response.status == 200
    except OSError:
        return False


@dataclass
class DemoService:
    """One process the demo serves, and the lines it prints once `probe_url` answers (never before)."""

    name: str
    process: subprocess.Popen
    log_path: Path
    probe_url: str
    lines: tuple[str, ...]


SLOW_START_S = 90.0
"""Say so when a service has not answered after this long (cold starts took 10-30 s on the loaded 2-core machine)."""


def announce_when_up(services: list[DemoService], out: Callable[[str], None] = print,
                     poll_s: float = 0.25) -> DemoService | None:
    """Print each service's lines as soon as it answers; return the first service that died first, else None."""
    pending, started, warned = list(services), time.monotonic(), False
    while pending:
        for service in list(pending):
            if service.process.poll() is not None:
                return service
            if _answers(service.probe_url):
                for line in service.lines:
                    out(line)
                pending.remove(service)
        if pending and not warned and time.monotonic() - started > SLOW_START_S:
            warned = True
            out(f"still starting after {SLOW_START_S:.0f} s: "
                f"{', '.join(f'{s.name} (log {s.log_path})' for s in pending)}")
        time.sleep(poll_s)
    return None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def serve_ui(settings: Settings) -> int:
    """The Dagster UI (with the daemon, for sensors), the MLflow UI and the prediction API, until Ctrl-C."""
    from bodyfat_assets.tracking import experiment_runs_url, registered_model_url

    svc = settings.services
    ui_port, api_port, mlflow_port = str(svc.webserver_port), str(svc.api_port), str(svc.mlflow_port)
    logs = logs_dir(settings)
    env = process_environment(
        DAGSTER_HOME=str(settings.dagster_home), MLFLOW_TRACKING_URI=settings.mlflow_tracking_uri,
        BODYFAT_MODEL_NAME=settings.model_name, BODYFAT_SERVING_HOST="127.0.0.1", BODYFAT_SERVING_PORT=api_port,
        OMP_NUM_THREADS="1")
    # Ctrl-C and SIGTERM both end the demo cleanly, even when SIGINT arrived ignored (a shell's background job).
    # Set before spawning: an ignored SIGINT survives exec, so children would inherit it and outlive a stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sample = json.dumps(dict(zip(FEATURE_NAMES, SAMPLE_ROW, strict=True)))
    started: list[subprocess.Popen] = []
    try:
        # `dagster dev` rather than `dg dev`: dg warns unless the project's venv is activated, and `make demo` does not
        # activate it; both run the same webserver and daemon on the same workspace.
        dagster_cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"),
                       "-h", "127.0.0.1", "-p", ui_port]
        # The MLflow UI over the demo's own SQLite store; one worker and no job runner, as under `make stack`.
        mlflow_cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", settings.mlflow_tracking_uri,
                      "-h", "127.0.0.1", "-p", mlflow_port, "-w", "1"]
        mlflow_env = {**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        services = []
        dagster_ui, mlflow_ui = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{mlflow_port}"
        for name, cmd, proc_env, probe, lines in (
            # The asset graph and the runs list: the UI's own start page (Overview → Timeline) showed "No runs or
            # scheduled ticks" while the demo's four runs existed.
            ("dagster", dagster_cmd, env, f"{dagster_ui}/server_info",
             (f"Dagster UI  {dagster_ui}/asset-groups   (the asset graph; runs: {dagster_ui}/runs)",)),
            ("mlflow", mlflow_cmd, mlflow_env, f"{mlflow_ui}/health",
             (f"MLflow UI   {experiment_runs_url(mlflow_ui, demo_experiment_id(settings))}   (the runs)",
              f"Model       {registered_model_url(mlflow_ui, settings.model_name)}   (versions, aliases)")),
            ("api", [sys.executable, "-m", "serving"], {**env, "BODYFAT_SERVING_LAKE_URL": settings.lake_url},
             f"http://127.0.0.1:{api_port}/health",
             (f"Page        http://127.0.0.1:{api_port}/   (a form for people: measurements in, estimate out)",
              f"API         http://127.0.0.1:{api_port}/docs")),
        ):
            log_path = logs / f"{name}.log"
            process = _start(cmd, proc_env, log_path)
            started.append(process)
            services.append(DemoService(name, process, log_path, probe, lines))
        print("", flush=True)
        dead = announce_when_up(services, out=lambda line: print(line, flush=True))
        if dead is not None:
            print(f"{dead.name} exited with {dead.process.returncode}; see {dead.log_path}", file=sys.stderr)
            return 1
        print(f"Try:   curl -s -X POST http://127.0.0.1:{api_port}/predict -H 'Content-Type: application/json' "
              f"-d '{sample}'")
        print("Ctrl-C stops all three.", flush=True)
        while all(proc.poll() is None for proc in started):
            time.sleep(0.5)
        dead = next(service for service in services if service.process.poll() is not None)
        print(f"{dead.name} exited with {dead.process.returncode}; see {dead.log_path}", file=sys.stderr)
        return 1  # one of them died on its own: stop the others and report failure
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(started):
            _stop(proc)


def demo_experiment_id(settings: Settings) -> str:
    """The id of the experiment the demo's runs were logged in (its MLflow store, read directly)."""
    from mlflow import MlflowClient

    experiment = MlflowClient(settings.mlflow_tracking_uri).get_experiment_by_name(settings.experiment_name)
    if experiment is None:
        raise SystemExit(f"no MLflow experiment {settings.experiment_name!r} in {settings.mlflow_tracking_uri}")
    return experiment.experiment_id


def demo() -> int:
    settings = Settings.from_env()
    started = time.monotonic()
    logs = logs_dir(settings)
    log_path = logs / "demo.log"
    print(f"Materializing every asset (full log: {log_path})", flush=True)
    try:
        with output_to(log_path) as terminal:
            outcome = materialize_all(settings, progress=lambda line: print(line, file=terminal, flush=True))
            lines = report(outcome, settings)
    except SystemExit as exc:
        raise SystemExit(f"{exc}; full log: {log_path}") from None
    print("\n".join(lines))
    print(f"Materialized every asset in {time.monotonic() - started:.1f} s")
    services = "" if settings.demo.no_ui else "; dagster.log, mlflow.log, api.log: the services"
    print(f"Logs        {logs}  (demo.log: the runs{services})", flush=True)
    if folders := landing_folders(settings):
        print(f"Landing     {folders[0]}/  (labeled CSV/Parquet) · {folders[1]}/  (rows to score)", flush=True)
    if settings.demo.no_ui:
        return 0
    return serve_ui(settings)


def landing_folders(settings: Settings) -> tuple[Path, Path] | None:
    """The local landing zone's train/ and score/ folders, created so a new user sees where files go (an S3 lake
    needs no folders); None for an S3 lake."""
    from bodyfat_assets.core.landing.naming import SCORE, TRAIN
    from bodyfat_assets.lake import LocalStore

    store = settings.lake.landing_store
    if not isinstance(store, LocalStore):
        return None
    train, score = store.root / TRAIN, store.root / SCORE
    for folder in (train, score):
        folder.mkdir(parents=True, exist_ok=True)
    return train, score


def feed_command(args: argparse.Namespace) -> int:
    from bodyfat_assets.feed import feed

    written = feed(Settings.from_env(), labeled=args.labeled, scoring=args.scoring, rows=args.rows, fmt=args.format,
                   seed=args.seed)
    for url in written:
        print(url)
    settings = Settings.from_env()
    landing = settings.landing
    print(f"{len(written)} synthetic file(s) landed; the landing sensor picks them up within "
          f"{landing.sensor_interval_s} s (docs/landing.md)")
    from bodyfat_assets.core.landing.retrain import retrain_outlook

    try:
        since = seconds_since_last_retrain(settings)
    except RuntimeError as exc:  # a hint that cannot be given must not fail a feed that already landed
        print(f"Retrain: once {landing.retrain_min_rows} new rows arrived and {landing.retrain_min_interval_s} s "
              f"passed since the last retraining run ({exc})")
        return 0
    print(retrain_outlook(args.labeled * args.rows, since, landing.retrain_min_rows, landing.retrain_min_interval_s,
                          landing.sensor_interval_s))
    return 0


def seconds_since_last_retrain(settings: Settings) -> float | None:
    """Seconds since the newest retraining run was created in the settings' Dagster instance, None when there was
    none; RuntimeError when the instance cannot be read (not created yet, or its database unreachable)."""
    from dagster import DagsterInstance

    from bodyfat_assets.defs.jobs import PIPELINE_JOB
    from bodyfat_assets.defs.landing.sensors import latest_retrain

    if not (settings.dagster_home / "dagster.yaml").exists():
        raise RuntimeError(f"no Dagster instance at {settings.dagster_home} yet")
    try:
        with DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            latest = latest_retrain(instance, PIPELINE_JOB)
            created = latest and instance.get_run_record_by_id(latest.run_id).create_timestamp
    except Exception as exc:
        raise RuntimeError(f"the Dagster instance at {settings.dagster_home} was not readable: {exc}") from exc
    return (datetime.now(UTC) - created).total_seconds() if created else None


def withdraw_command(args: argparse.Namespace) -> int:
    """Run the withdraw_labeled_file job on the partition, in this process, recorded in the settings' instance."""
    from dagster import DagsterInstance

    from bodyfat_assets.core.withdrawal import WithdrawalError, withdrawal_record
    from bodyfat_assets.definitions import build_definitions
    from bodyfat_assets.defs.jobs import WITHDRAW_JOB
    from bodyfat_assets.partitions import LABELED_FILES

    settings = Settings.from_env()
    with DagsterInstance.from_config(str(prepare_dagster_home(settings))) as instance:
        known = instance.get_dynamic_partitions(LABELED_FILES.name)
        try:  # the same validation the run applies, before a run is created for nothing
            withdrawal_record(args.partition, args.reason, known, datetime.now(UTC))
        except WithdrawalError as exc:
            print(f"cannot withdraw: {exc}", file=sys.stderr)
            return 2
        result = build_definitions(settings).resolve_job_def(WITHDRAW_JOB).execute_in_process(
            instance=instance, partition_key=args.partition, raise_on_error=False,
            run_config={**QUIET_CONSOLE, "ops": {"withdrawn_labels": {"config": {"reason": args.reason}}}})
    if not result.success:
        print(f"withdrawal run {result.run_id} failed; see the Dagster UI", file=sys.stderr)
        return 1
    print(f"{args.partition} withdrawn (run {result.run_id}): {args.reason}\n"
          f"The next retrain quarantines its rows under the rule `withdrawn`; raw_bodyfat keeps them for audit.")
    return 0


def pools_command() -> int:
    """Initialize the declared pools' limits in DAGSTER_HOME's instance (run before `dagster-daemon run`)."""
    from dagster import DagsterInstance

    from bodyfat_assets.pools import initialize_pool_limits

    with DagsterInstance.get() as instance:
        new = initialize_pool_limits(instance)
        limits = {pool: instance.event_log_storage.get_concurrency_info(pool).slot_count
                  for pool in instance.event_log_storage.get_concurrency_keys()}
    print(f"pools initialized now: {new or 'none'}; limits: {limits}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bodyfat", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="materialize every asset on the embedded default, report, start the Dagster UI")
    feed = sub.add_parser("feed", help="drop synthetic labeled and scoring files into the landing zone")
    feed.add_argument("--labeled", type=int, default=1, help="labeled files for landing/train/ (default 1)")
    feed.add_argument("--scoring", type=int, default=0, help="unlabeled files for landing/score/ (default 0)")
    feed.add_argument("--rows", type=int, default=25, help="rows per file (default 25)")
    feed.add_argument("--format", choices=["csv", "parquet"], default="csv")
    feed.add_argument("--seed", type=int, default=None, help="random seed, for reproducible batches")
    health = sub.add_parser("health", help="the model's health, bad news first: a champion that no longer fits, "
                                           "decisions, failed runs, stuck files, live error, drift, stale assets")
    health.add_argument("--textfile", type=Path, default=None,
                        help="also write the champion-fit gauges here (node_exporter textfile collector, *.prom)")
    withdraw = sub.add_parser("withdraw", help="take a labeled file back: its rows leave the next retrain")
    withdraw.add_argument("partition", help="the file's raw_bodyfat partition (Dagster UI, or `bodyfat health`)")
    withdraw.add_argument("--reason", required=True, help="why: shown beside each row in quarantined_bodyfat")
    sub.add_parser("pools", help="set the instance's pool limits before its daemon starts (DAGSTER_HOME's instance)")
    args = parser.parse_args(argv)
    if args.command == "pools":
        return pools_command()
    if args.command == "withdraw":
        return withdraw_command(args)
    if args.command == "health":
        from bodyfat_assets.health_cli import health_command

        return health_command(args.textfile)
    if args.command == "feed":
        return feed_command(args)
    return {"demo": demo}[args.command]()


if __name__ == "__main__":
    raise SystemExit(main())
