"""The loop through real processes: `dagster-daemon run` (sensors, run queue, code server, run workers) on a
temporary DAGSTER_HOME and BODYFAT_HOME, with a tiny trial budget and a 2 s sensor interval.

A fresh instance bootstraps itself from the seed partition; then a labeled file lands (→ raw partition →
retraining → champion decision, timed), a scoring file lands (→ predictions with a model version), and bad files
land (→ rejected/ with reasons). Every landed file ends in exactly one of processed/ or rejected/.

Skip it with `-m "not integration"`; it takes a few minutes on two busy cores.
"""

from __future__ import annotations

import json
import time

import httpx
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES
from dagster import AssetKey, RunsFilter
from mlflow import MlflowClient

from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.defs.data.checks import splits_no_near_duplicates
from bodyfat_assets.feed import feed
from bodyfat_assets.lake import SPLITS_KEY, parquet_to_frame
from bodyfat_assets.testing.landing_files import bad_files, repeated_measurements
from bodyfat_assets.testing.loop import BOOTSTRAP_TIMEOUT_S, STEP_TIMEOUT_S, daemon_loop
from bodyfat_assets.testing.services import wait_until
from bodyfat_assets.tracking import files_location
from tests.support.serving_process import serving_process

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    home = tmp_path_factory.mktemp("loop")
    log = home / "daemon.log"
    with daemon_loop(home) as (state, proc):
        try:
            state.timings["bootstrap_s"] = state.wait(
                lambda: proc.poll() is None and state.champion_decisions()
                and state.lake.exists(f"predictions/{SEED_PARTITION}.parquet"),
                BOOTSTRAP_TIMEOUT_S, "seed ingested, first champion, seed scored")
            yield state
        finally:
            print(f"\nloop timings: {json.dumps(state.timings)}")
            (home / "timings.json").write_text(json.dumps(state.timings, indent=2))
            if proc.poll() is not None:
                print(log.read_text()[-4000:])


def test_labeled_file_flows_to_a_champion_decision(loop):
    before = len(loop.champion_decisions())
    landed_at = time.monotonic()
    [url] = feed(loop.settings, labeled=1, scoring=0, rows=30, seed=7)
    name = url.rsplit("/", 1)[1]
    key = partition_key_for(name, content_hash(loop.landing.read_bytes(f"train/{name}")))
    loop.wait(lambda: len(loop.champion_decisions()) > before, STEP_TIMEOUT_S, "a champion decision")
    loop.timings["labeled_landing_to_decision_s"] = round(time.monotonic() - landed_at, 1)
    assert loop.lake.exists(f"raw_bodyfat/{key}.parquet"), "its raw partition was materialized"
    assert loop.landing.exists(f"processed/train/{key}.csv") and not loop.landing.exists(f"train/{name}")
    decision = loop.champion_decisions()[0]
    assert decision["decision"] in ("promoted", "rejected") and decision["reason"]
    client = MlflowClient(loop.settings.mlflow_tracking_uri)
    tags = client.get_model_version(loop.settings.model_name, decision["challenger_version"]).tags
    assert tags["promotion_decision"] == decision["decision"]
    cleaned = parquet_to_frame(loop.lake.read_bytes("cleaned_bodyfat.parquet"))
    assert {SEED_PARTITION, key} <= set(cleaned["source"]) and cleaned["synthetic"].sum() > 0


def test_scoring_file_gets_predictions_with_a_model_version(loop):
    landed_at = time.monotonic()
    [url] = feed(loop.settings, labeled=0, scoring=1, rows=12, fmt="parquet", seed=8)
    name = url.rsplit("/", 1)[1]
    key = partition_key_for(name, content_hash(loop.landing.read_bytes(f"score/{name}")))
    loop.wait(lambda: loop.lake.exists(f"predictions/{key}.parquet"), STEP_TIMEOUT_S, f"predictions/{key}.parquet")
    loop.timings["scoring_landing_to_predictions_s"] = round(time.monotonic() - landed_at, 1)
    predictions = parquet_to_frame(loop.lake.read_bytes(f"predictions/{key}.parquet"))
    assert len(predictions) == 12 and predictions["id"].str.startswith("synthetic-").all()
    champion = MlflowClient(loop.settings.mlflow_tracking_uri).get_model_version_by_alias(
        loop.settings.model_name, "champion")
    assert set(predictions["model_version"]) <= {str(champion.version), *map(str, range(1, int(champion.version)))}
    # The run moves the file once its predictions are published: a moment after they appear.
    loop.wait(lambda: loop.landing.exists(f"processed/score/{key}.parquet"), 60, f"processed/score/{key}.parquet")


def test_bad_files_are_rejected_with_reasons_and_every_file_ends_somewhere(loop, labeled_frame):
    bad = {name: bad_files(labeled_frame)[name] for name in
           ("empty.csv", "notes.txt", "broken.parquet", "waist.csv", "units-in-cells.csv", "metric.csv")}
    landed_at = time.monotonic()
    for name, (_, data) in bad.items():
        loop.landing.write_bytes(f"train/{name}", data)
    # Byte-identical to a labeled file already ingested: rejected as duplicate content.
    processed = [k for k in loop.landing.list_keys("processed/train/") if k.endswith(".csv")]
    loop.landing.write_bytes("train/again.csv", loop.landing.read_bytes(processed[0]))
    bad["again.csv"] = ("duplicate_content", b"")

    def all_rejected() -> bool:
        return not loop.landing.list_keys("train/") and len(
            [k for k in loop.landing.list_keys("rejected/") if k.endswith(".reason.json")]) == len(bad)

    loop.wait(all_rejected, STEP_TIMEOUT_S, "every bad file in rejected/")
    loop.timings["bad_files_to_rejected_s"] = round(time.monotonic() - landed_at, 1)
    reasons = {json.loads(loop.landing.read_bytes(k))["file"].rsplit("/", 1)[1]:
               json.loads(loop.landing.read_bytes(k))["reason"]
               for k in loop.landing.list_keys("rejected/") if k.endswith(".reason.json")}
    assert reasons == {name: code for name, (code, _) in bad.items()}

    # Every file that ever landed is in exactly one of processed/ and rejected/, and nothing waits in landing.
    assert not loop.landing.list_keys("train/") and not loop.landing.list_keys("score/")
    processed = loop.landing.list_keys("processed/")
    rejected = [k for k in loop.landing.list_keys("rejected/") if not k.endswith(".reason.json")]
    assert len(processed) == 2 and len(rejected) == len(bad)
    assert not {k.rsplit("/", 1)[1] for k in processed} & {k.rsplit("/", 1)[1] for k in rejected}


def test_a_degraded_labeled_file_triggers_a_retrain_on_evidence(loop):
    """Through the daemon: labels 8 points above what the champion predicts (still in range) → its
    live_performance records the degradation → the retrain sensor starts a run whose tags carry the evidence."""
    rows = parquet_to_frame(loop.lake.read_bytes("cleaned_bodyfat.parquet")).sample(40, random_state=9)
    rows = rows[rows["BodyFat"] < 50].assign(BodyFat=lambda f: f["BodyFat"] + 8)
    rows[list(FEATURE_NAMES)] = rows[list(FEATURE_NAMES)] + 0.05  # not byte-identical to rows already ingested
    landed_at = time.monotonic()
    loop.landing.write_bytes("train/degraded.csv", rows[[*FEATURE_NAMES, "BodyFat"]].to_csv(index=False).encode())

    def evidence_run():
        runs = loop.instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "retrain_sensor"}))
        return next((r for r in runs if "bodyfat/retrain_evidence" in r.tags), None)

    loop.wait(evidence_run, STEP_TIMEOUT_S, "a retrain run started on evidence")
    loop.timings["degraded_file_to_evidence_retrain_s"] = round(time.monotonic() - landed_at, 1)
    run = evidence_run()
    assert run.tags["bodyfat/retrain_reason"].startswith("evidence: live RMSE")
    assert "degraded" in run.tags["bodyfat/retrain_evidence"]


def drift_check_of(loop, key: str):
    """The scoring_file_drift evaluation recorded by the run that scored partition `key`."""
    for run in loop.instance.get_runs(RunsFilter(tags={"dagster/partition": key})):
        for event in loop.instance.all_logs(run.run_id):
            if event.dagster_event and event.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.dagster_event.event_specific_data
                if evaluation.check_name == "scoring_file_drift":
                    return evaluation
    return None


def test_a_shifted_scoring_file_warns_and_an_unshifted_one_passes(loop):
    """Through the daemon: drift of a scoring file is a WARN check on its partition, never a failure."""
    rows = parquet_to_frame(loop.lake.read_bytes("cleaned_bodyfat.parquet"))[list(FEATURE_NAMES)]
    plain = rows.sample(60, random_state=21) + 0.01
    shifted = rows.sample(60, random_state=22).assign(Abdomen=lambda f: f["Abdomen"] + 15,
                                                      Weight=lambda f: f["Weight"] + 40)
    keys = {}
    for name, frame in (("plain.csv", plain), ("shifted.csv", shifted)):
        data = frame.to_csv(index=False).encode()
        loop.landing.write_bytes(f"score/{name}", data)
        keys[name] = partition_key_for(name, content_hash(data))
    loop.wait(lambda: all(drift_check_of(loop, key) for key in keys.values()), STEP_TIMEOUT_S,
              "drift checks on both scoring files")
    plain_check, shifted_check = (drift_check_of(loop, keys[name]) for name in ("plain.csv", "shifted.csv"))
    assert plain_check.passed
    assert not shifted_check.passed and shifted_check.severity.value == "WARN"
    assert {"Abdomen", "Weight"} <= set(shifted_check.description.removeprefix("drifted: ").split(", "))
    assert loop.lake.exists(f"predictions/{keys['shifted.csv']}.parquet"), "drift never blocks scoring"


def test_repeated_measurements_of_the_same_men_retrain_green(loop, seed_frame):
    """A file of 400 visits of seed men, 2 % apart, drawn with replacement: near-duplicates of each other on both
    sides of the split used to fail the blocking splits_no_near_duplicates in this and every later retrain. Now each
    man's visits share a side: the retrain reaches a decision and no run fails (the wait fails at once if one does)."""
    data = repeated_measurements(seed_frame, 400, random_state=27, jitter=0.02).to_csv(index=False).encode()
    key = partition_key_for("visits.csv", content_hash(data))
    landed_at = time.monotonic()
    loop.landing.write_bytes("train/visits.csv", data)

    def decided_with_the_visits() -> bool:
        splits = parquet_to_frame(loop.lake.read_bytes(SPLITS_KEY))
        if key not in set(splits["source"]):
            return False
        latest = {name: loop.instance.get_latest_materialization_event(AssetKey(name)) for name in
                  ("bodyfat_splits", "champion")}
        return latest["champion"].timestamp > latest["bodyfat_splits"].timestamp

    loop.wait(decided_with_the_visits, STEP_TIMEOUT_S, "a champion decision on splits holding the visits")
    loop.timings["repeated_measurements_to_decision_s"] = round(time.monotonic() - landed_at, 1)
    splits = parquet_to_frame(loop.lake.read_bytes(SPLITS_KEY))
    visits = splits[splits["source"] == key]
    assert len(visits) > 300 and set(visits["split"]) == {"train", "test"}
    assert splits_no_near_duplicates(splits).passed


def test_a_ragged_scoring_csv_leaves_score_with_its_reason(loop, seed_frame):
    """A truncated last row used to pass the sensor (pandas) and fail the run (pyarrow), leaving the file in score/
    for ever with no reason; one parser now rejects it at the sensor."""
    text = seed_frame[list(FEATURE_NAMES)].head(40).to_csv(index=False).encode().rstrip()
    loop.landing.write_bytes("score/ragged.csv", text[:-25] + b"\n")

    def reason() -> dict | None:
        keys = [k for k in loop.landing.list_keys("rejected/score/") if k.endswith("ragged.csv.reason.json")]
        return json.loads(loop.landing.read_bytes(keys[0])) if keys else None

    loop.wait(reason, STEP_TIMEOUT_S, "ragged.csv in rejected/ with its reason")
    assert reason()["reason"] == "unreadable" and "Expected 13 columns" in reason()["detail"]
    assert not loop.landing.exists("score/ragged.csv")


def test_served_predictions_come_back_as_served_performance_per_version(loop, tmp_path, seed_frame):
    """Served predictions come back as evidence, through the daemon: a real API logs what it serves into the loop's
    lake, the champion alias moves to another version in between, then a labels file lands in landing/labels/ →
    served_performance measures each version apart, the labels that name no served prediction are counted, not
    dropped, and model_health shows both versions. Runs last: it moves the alias by hand, as an operator would."""
    client = MlflowClient(loop.settings.mlflow_tracking_uri)
    name = loop.settings.model_name
    champion = client.get_model_version_by_alias(name, "champion")
    first = str(champion.version)
    # The version promoted in between: the champion's own model registered again (a new version number, no retrain
    # to wait for; what the API serves under each number is what is measured apart).
    other = str(client.create_model_version(name, files_location(client, champion.source), champion.run_id).version)
    rows = seed_frame[list(FEATURE_NAMES)].head(24).to_dict("records")
    served: dict[str, list[str]] = {first: [], other: []}
    with serving_process(tmp_path, loop.settings.mlflow_tracking_uri, BODYFAT_SERVING_LAKE_URL=loop.settings.lake_url,
                         BODYFAT_SERVING_PREDICTION_LOG_FLUSH_S="0.5", BODYFAT_SERVING_ADMIN_TOKEN="admin",
                         BODYFAT_SERVING_POLL_INTERVAL_S="1") as api:
        # On two cores busy with the daemon's runs, the API's first registry call can miss its 3 s deadline and start
        # on the bundled fallback (a fresh-clone CI run served "fallback"); the poll then brings the champion in.
        wait_until(lambda: httpx.get(f"{api.url}/ready", timeout=5).json().get("version") == first, STEP_TIMEOUT_S,
                   f"the API serving champion v{first}")
        for version, batch in ((first, rows[:12]), (other, rows[12:])):
            if version == other:
                client.set_registered_model_alias(name, "champion", other)
                reload = httpx.post(f"{api.url}/admin/reload", headers={"X-Admin-Token": "admin"}, timeout=60)
                assert reload.json()["version"] == other, reload.text
            for i, row in enumerate(batch):
                answer = httpx.post(f"{api.url}/predict", json={**row, "id": f"{version}-person-{i}"}, timeout=30)
                assert answer.json()["model_version"] == version
                served[version].append(answer.json()["prediction_id"])
    # The API flushed its log at shutdown. Labels: by prediction id, by the caller's id, and three that match nothing.
    labels = pd.DataFrame({
        "prediction_id": [*served[first][:8], *served[other][:10], None, None, "never-served", "nor-this", None],
        "id": [*[None] * 18, f"{first}-person-9", f"{other}-person-11", None, None, "stranger"],
        "BodyFat": [*seed_frame["BodyFat"].head(20), 20.0, 21.0, 22.0]})
    data = labels.to_csv(index=False).encode()
    key = partition_key_for("dexa.csv", content_hash(data))
    landed_at = time.monotonic()
    loop.landing.write_bytes("labels/dexa.csv", data)
    loop.wait(lambda: loop.instance.get_latest_materialization_event(AssetKey("served_performance")) is not None,
              STEP_TIMEOUT_S, "served_performance of the labels file")
    loop.timings["labels_landing_to_served_performance_s"] = round(time.monotonic() - landed_at, 1)
    event = loop.instance.get_latest_materialization_event(AssetKey("served_performance"))
    metadata = {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
    assert event.asset_materialization.partition == key
    assert (metadata["matched"], metadata["unmatched"], metadata["quarantined"]) == (20, 3, 0)
    per_version = {r.data["model_version"]: r.data["rows"] for r in metadata["by_version_and_day"].records}
    assert per_version == {first: 9, other: 11}
    measured = parquet_to_frame(loop.lake.read_bytes(f"served_performance/{key}.parquet"))
    assert sorted(measured.loc[measured["status"] == "unmatched", "BodyFat"]) == [20.0, 21.0, 22.0]
    assert loop.landing.exists(f"processed/labels/{key}.csv") and not loop.landing.exists("labels/dexa.csv")

    def health_by_version() -> dict[str, int] | None:  # Declarative Automation refreshes model_health after it
        entry = loop.instance.get_latest_materialization_event(AssetKey("model_health"))
        shown = entry and entry.asset_materialization.metadata.get("served_by_version")
        return shown and {r.data["model_version"]: r.data["rows"] for r in shown.value.records}

    loop.wait(lambda: health_by_version() == {first: 9, other: 11}, STEP_TIMEOUT_S,
              "model_health showing served performance per version")
    loop.timings["labels_landing_to_model_health_s"] = round(time.monotonic() - landed_at, 1)
