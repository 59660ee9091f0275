"""The whole asset graph on the embedded default, in a temporary DAGSTER_HOME, with a tiny trial budget.

raw_bodyfat and batch_predictions are partitioned by landed file: the `seed` partitions are registered and
ingested first, then the retraining job runs, then the seed rows are scored.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import FEATURE_NAMES
from dagster import AssetCheckSeverity, AssetKey, DagsterInstance, TableMetadataValue
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from bodyfat_assets.core.contract_checks import out_of_range
from bodyfat_assets.core.landing.naming import SEED_PARTITION, content_hash, partition_key_for
from bodyfat_assets.definitions import build_definitions
from bodyfat_assets.defs.data.checks import KNOWN_ANOMALIES
from bodyfat_assets.defs.jobs import HEALTH_JOB, INGEST_JOB, PIPELINE_JOB, SCORE_JOB
from bodyfat_assets.defs.predictions.assets import AUTOMATION_RUN_TAGS
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.partitions import LABELED_FILES, SCORING_FILES
from bodyfat_assets.settings import Settings
from bodyfat_assets.testing.landing_files import write_scoring_csv
from bodyfat_assets.testing.pipeline_runs import land_and_run
from tests.support.definitions import check_names, materializable_asset_names

pytestmark = pytest.mark.e2e

WORSE = {"ops": {"tuned_model": {"config": {"features": ["Age", "Height"], "families": ["knn"], "n_trials": 2}}}}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("bodyfat_home")


@pytest.fixture(scope="module")
def instance(home):
    (home / "dagster").mkdir()
    with DagsterInstance.local_temp(str(home / "dagster")) as instance:
        yield instance


def settings_for(home, **extra) -> Settings:
    return Settings.from_env({"BODYFAT_HOME": str(home), "BODYFAT_TRIALS": "6", "BODYFAT_CV_FOLDS": "3", **extra})


def run(settings, instance, run_config=None, job_name=PIPELINE_JOB, partition_key=None):
    job = build_definitions(settings).resolve_job_def(job_name)
    return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False,
                                  partition_key=partition_key)


@pytest.fixture(scope="module")
def seed_runs(home, instance):
    """ingest seed → retrain → score seed, as `materialize_all` and the sensors do."""
    instance.add_dynamic_partitions(LABELED_FILES.name, [SEED_PARTITION])
    instance.add_dynamic_partitions(SCORING_FILES.name, [SEED_PARTITION])
    settings = settings_for(home)
    ingest = run(settings, instance, job_name=INGEST_JOB, partition_key=SEED_PARTITION)
    assert ingest.success
    retrain = run(settings, instance)
    assert retrain.success
    scoring = run(settings, instance, job_name=SCORE_JOB, partition_key=SEED_PARTITION)
    assert scoring.success
    health = run(settings, instance, job_name=HEALTH_JOB)
    assert health.success
    return ingest, retrain, scoring, health


@pytest.fixture(scope="module")
def first_run(seed_runs):
    return seed_runs[1]


def champion_version(settings) -> str:
    client = MlflowClient(settings.mlflow_tracking_uri)
    return str(client.get_model_version_by_alias(settings.model_name, "champion").version)


def test_every_asset_materialized_and_every_check_passed(seed_runs, home):
    materialized = {e.asset_key.to_user_string() for r in seed_runs for e in r.get_asset_materialization_events()}
    defs = build_definitions(settings_for(home))
    assert materialized == materializable_asset_names(defs)
    checks = [c for r in seed_runs for c in r.get_asset_check_evaluations()]
    assert {f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks} == check_names(defs)
    assert len(checks) == len(check_names(defs)) and all(c.passed for c in checks), [
        (c.check_name, c.passed) for c in checks]


def test_seed_partition_carries_its_source(seed_runs, home):
    raw = parquet_to_frame(store_from_url(str(home / "lake")).read_bytes(f"raw_bodyfat/{SEED_PARTITION}.parquet"))
    assert set(raw["source"]) == {SEED_PARTITION} and list(raw["row_id"]) == list(range(1, len(raw) + 1))


def test_known_bad_rows_are_quarantined_with_reasons(first_run, home):
    lake = store_from_url(str(home / "lake"))
    quarantine = parquet_to_frame(lake.read_bytes("quarantined_bodyfat.parquet"))
    quarantine = quarantine[quarantine["source"] == SEED_PARTITION].set_index("row_id")
    for row, rule in KNOWN_ANOMALIES.items():
        assert rule in quarantine.loc[row, "rules"].split(",")
        assert quarantine.loc[row, "reasons"]
    cleaned = parquet_to_frame(lake.read_bytes("cleaned_bodyfat.parquet"))
    assert not set(KNOWN_ANOMALIES) & set(cleaned["row_id"])


def test_champion_loads_from_mlflow_and_predicts(first_run, home, seed_frame):
    settings = settings_for(home)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    uri = f"models:/{settings.model_name}@champion"
    model = mlflow.sklearn.load_model(uri)
    card = mlflow.models.get_model_info(uri).metadata
    assert card["features"] == list(FEATURE_NAMES)
    predictions = model.predict(seed_frame[card["features"]].head(20))
    assert predictions.shape == (20,) and 2 < predictions.mean() < 40
    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trials = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(trials) == 6 and {r.data.tags["mlflow.parentRunId"] for r in trials} == {parents[0].info.run_id}
    assert all(r.data.tags.get("dagster_run_id") == first_run.run_id for r in runs)


def test_batch_predictions_carry_ids_intervals_and_version(first_run, home, seed_frame):
    lake = store_from_url(str(home / "lake"))
    out = parquet_to_frame(lake.read_bytes(f"predictions/{SEED_PARTITION}.parquet"))
    assert list(out["row_id"]) == list(range(1, len(seed_frame) + 1))
    scored = out[out["issue"].isna()]
    assert (scored["lower_90"] < scored["prediction"]).all() and (scored["prediction"] < scored["upper_90"]).all()
    assert set(out["model_version"]) == {champion_version(settings_for(home))}
    assert out.set_index("row_id").loc[42, "issue"].startswith("Height")


def test_retraining_on_the_same_data_and_search_reuses_the_registered_version(first_run, home, instance):
    """A re-run of the demo on unchanged data, search space and seed produced an identical model that was
    registered again (v4 = v3). It is now recognised by its fingerprint and reused, and the log says so."""
    settings = settings_for(home)
    client = MlflowClient(settings.mlflow_tracking_uri)
    before = client.search_model_versions(f"name='{settings.model_name}'")
    again = run(settings, instance)
    assert again.success
    tuned = again.output_for_node("tuned_model")
    assert tuned.model_version == first_run.output_for_node("tuned_model").model_version
    assert len(client.search_model_versions(f"name='{settings.model_name}'")) == len(before)
    metadata = again.asset_materializations_for_node("tuned_model")[0].metadata
    assert metadata["newly_registered"].value is False
    tags = client.get_run(metadata["mlflow_run_id"].value).data.tags
    assert tags["reused_model_version"] == tuned.model_version and tags["training_fingerprint"]
    assert again.output_for_node("champion").reason == "challenger is already the champion"


def test_worse_model_is_a_green_run_with_a_blocked_decision_and_the_champion_stays(first_run, home, instance):
    """A model the gate refuses is the gate working. The run stays green, `champion` records "blocked by
    <check>: <figures>" on the version and in its own history, and `challenger` no longer points at it."""
    settings = settings_for(home)
    before = champion_version(settings)
    result = run(settings, instance, WORSE)
    assert result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["rmse_below_ceiling"].passed is False or checks["beats_ridge_baseline"].passed is False
    assert all(c.severity == AssetCheckSeverity.WARN for c in checks.values() if not c.passed)
    decision = result.output_for_node("champion")
    assert decision.decision == "blocked" and decision.champion_version == before
    assert decision.reason.startswith("blocked by ") and "test RMSE" in decision.reason
    failed = [name for name, c in checks.items() if not c.passed]
    assert all(name in decision.reason for name in failed)
    assert champion_version(settings) == before
    client = MlflowClient(settings.mlflow_tracking_uri)
    tags = client.get_model_version(settings.model_name, decision.challenger_version).tags
    assert tags["promotion_decision"] == "blocked" and tags["promotion_reason"] == decision.reason
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(settings.model_name, "challenger")
    history = instance.fetch_materializations(AssetKey("champion"), limit=1).records[0]
    assert history.asset_materialization.metadata["decision"].value == "blocked"


def test_worse_model_past_loose_checks_is_rejected_by_the_gate(first_run, home, instance):
    settings = settings_for(home, BODYFAT_RMSE_CEILING="100", BODYFAT_BASELINE_TOLERANCE="10")
    before = champion_version(settings)
    result = run(settings, instance, WORSE)
    assert result.success
    decision = result.output_for_node("champion")
    assert decision.decision == "rejected" and decision.champion_version == before
    assert decision.challenger_test_rmse > decision.champion_test_rmse
    client = MlflowClient(settings.mlflow_tracking_uri)
    assert champion_version(settings) == before
    tags = client.get_model_version(settings.model_name, decision.challenger_version).tags
    assert tags["promotion_decision"] == "rejected" and tags["compared_with_version"] == before
    assert float(tags["champion_test_rmse"]) == pytest.approx(decision.champion_test_rmse, abs=1e-3)
    challenger = client.get_model_version_by_alias(settings.model_name, "challenger")
    assert str(challenger.version) == decision.challenger_version
    lake = store_from_url(str(home / "lake"))
    predictions = parquet_to_frame(lake.read_bytes(f"predictions/{SEED_PARTITION}.parquet"))
    assert set(predictions["model_version"]) == {before}, "scoring keeps using the champion"
    assert isinstance(predictions, pd.DataFrame)


def test_metadata_tables_are_typed_tables_the_ui_can_sort(first_run):
    cleaned = next(e for e in first_run.get_asset_materialization_events()
                   if e.asset_key.to_user_string() == "quarantined_bodyfat").materialization.metadata
    quarantined = cleaned["quarantined"]
    assert isinstance(quarantined, TableMetadataValue)
    assert [c.name for c in quarantined.schema.columns] == ["source", "row_id", "reasons", "rules"]
    assert {c.name: c.type for c in quarantined.schema.columns}["row_id"] == "int"
    assert len(quarantined.records) == cleaned["rows"].value > 0


def test_a_degraded_labeled_file_shows_in_live_performance_with_evidence(first_run, home, instance, seed_frame):
    """Labels 8 points higher than the model expects (still in range) → live RMSE far above the champion's
    test RMSE, coverage collapses, and the file carries retrain evidence; model_health shows it."""
    settings = settings_for(home)
    shifted = seed_frame.sample(60, random_state=3).assign(BodyFat=lambda f: (f["BodyFat"] + 8).clip(upper=59))
    shifted = shifted[shifted["BodyFat"] > 10].drop(columns=["Density"])
    key, ingest = land_and_run(settings, instance, "train", "shifted.csv", shifted)
    live = ingest.output_for_node("live_performance").frames[key].iloc[0]
    assert live["model_version"] == champion_version(settings) and live["rows"] == len(shifted)
    assert live["rmse"] > 1.25 * live["champion_test_rmse"] and live["bias"] > 5 and live["coverage"] < 0.5
    assert "live RMSE" in live["evidence"] and live["suspect_labels"] == "", "a shift keeps the correlation"
    health = run(settings, instance, job_name=HEALTH_JOB)
    history = health.output_for_node("model_health")
    assert key in set(history["source"]) and history.iloc[-1]["source"] == key, "landing order"


def test_a_shifted_scoring_file_warns_and_an_unshifted_one_passes(first_run, home, instance, seed_frame):
    settings = settings_for(home)
    features = seed_frame[list(FEATURE_NAMES)]
    _, plain = land_and_run(settings, instance, "score", "plain.csv", features.sample(80, random_state=4))
    shifted = features.sample(80, random_state=5).assign(Abdomen=lambda f: f["Abdomen"] + 15,
                                                         Weight=lambda f: f["Weight"] + 40)
    _, moved = land_and_run(settings, instance, "score", "moved.csv", shifted)
    [plain_check] = plain.get_asset_check_evaluations()
    [moved_check] = moved.get_asset_check_evaluations()
    assert plain_check.check_name == moved_check.check_name == "scoring_file_drift"
    assert plain_check.passed
    assert not moved_check.passed and moved_check.severity == AssetCheckSeverity.WARN
    assert {"Abdomen", "Weight"} <= set(moved_check.description.removeprefix("drifted: ").split(", "))
    assert moved.success, "drift never blocks scoring"


def test_a_file_of_shuffled_labels_is_held_for_review_and_never_trained_on(first_run, home, instance, seed_frame):
    """400 plausible rows with shuffled BodyFat. Features do not drift and labels no longer follow the
    champion's predictions → suspect; cleaning quarantines the whole file, so it cannot reach the next model."""
    settings = settings_for(home)
    rng = np.random.default_rng(11)
    rows = seed_frame.sample(400, replace=True, random_state=11).drop(columns=["Density"]).reset_index(drop=True)
    rows[list(FEATURE_NAMES)] = (rows[list(FEATURE_NAMES)] * rng.normal(1, 0.005, (400, 13))).round(2)
    rows["BodyFat"] = rng.permutation(rows["BodyFat"].to_numpy())
    key, ingest = land_and_run(settings, instance, "train", "poison.csv", rows)
    live = ingest.output_for_node("live_performance").frames[key].iloc[0]
    assert "labels suspect" in live["suspect_labels"] and live["evidence"] == ""
    retrain = run(settings, instance)
    assert retrain.success
    quarantine = parquet_to_frame(store_from_url(str(home / "lake")).read_bytes("quarantined_bodyfat.parquet"))
    held = quarantine[quarantine["source"] == key]
    assert len(held) == 400 and held["rules"].str.contains("suspect_labels").all()
    cleaned = parquet_to_frame(store_from_url(str(home / "lake")).read_bytes("cleaned_bodyfat.parquet"))
    assert key not in set(cleaned["source"])


def test_the_health_report_tells_a_person_what_the_ui_shows(first_run, home, instance):
    """`bodyfat health`, after the runs above: the champion, the measured files (the +8 one with its evidence),
    nothing stale yet, the last retrain and its decision."""
    from bodyfat_assets.health_cli import gather

    settings = settings_for(home)
    run(settings, instance, job_name=HEALTH_JOB)
    text = gather(settings, instance)
    assert f"champion: v{champion_version(settings)} " in text
    assert "shifted-" in text and "evidence: live RMSE" in text, text
    assert "stale assets: none" in text and "last retrain run: SUCCESS" in text
    assert "PROMOTED challenger" in text and "failed runs since the last successful retrain" in text, text


FROM_AUTOMATION = AUTOMATION_RUN_TAGS
"""The tag Dagster puts on runs Declarative Automation requests (a re-scoring after a promotion)."""
SCATTERED_BAD = {5: ("Height", "29.5"), 1_200: ("Weight", ""), 2_400: ("Ankle", "about 22")}


@pytest.fixture(scope="module")
def nightly_file(first_run, home, instance, seed_frame):
    """A landed 2,500-row scoring file scored in batches of 1,000 rows, bad rows scattered through it."""
    valid = seed_frame[out_of_range(seed_frame, FEATURE_NAMES) == ""]
    frame = valid[list(FEATURE_NAMES)].sample(2_500, replace=True, random_state=3).reset_index(drop=True)
    frame = frame.astype(str)
    frame.insert(0, "id", [f"n{i}" for i in range(len(frame))])
    for row_id, (column, value) in SCATTERED_BAD.items():
        frame.loc[row_id - 1, column] = value
    key, result = land_and_run(settings_for(home, BODYFAT_SCORING_BATCH_ROWS="1000"), instance, "score",
                               "nightly.csv", frame)
    return key, frame, result


def predictions_of(home, key: str) -> bytes:
    return store_from_url(str(home / "lake")).read_bytes(f"predictions/{key}.parquet")


def score_again(home, instance, key: str, tags: dict[str, str] | None = None, **env: str):
    return build_definitions(settings_for(home, **env)).resolve_job_def(SCORE_JOB).execute_in_process(
        instance=instance, partition_key=key, tags=tags or {}, raise_on_error=False)


def materialized(result) -> bool:
    return any(e.asset_key == AssetKey("batch_predictions") for e in result.get_asset_materialization_events())


def test_a_landed_file_larger_than_a_batch_is_scored_row_for_row(nightly_file, home):
    key, frame, result = nightly_file
    out = parquet_to_frame(predictions_of(home, key))
    assert list(out["row_id"]) == list(range(1, len(frame) + 1)) and list(out["id"]) == list(frame["id"])
    assert set(out.loc[out["issue"].notna(), "row_id"]) == set(SCATTERED_BAD)
    assert out.set_index("row_id").loc[1_200, "issue"] == "Weight missing or non-numeric"
    assert out.set_index("row_id").loc[2_400, "issue"] == "Ankle missing or non-numeric"
    assert out.set_index("row_id").loc[5, "issue"].startswith("Height 29.5 in outside")
    [materialization] = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    assert metadata["rows"].value == len(frame) and metadata["unscored_rows"].value == len(SCATTERED_BAD)
    lake = store_from_url(str(home / "lake"))
    assert lake.exists(f"landing/processed/score/{key}.csv") and not lake.exists("landing/score/nightly.csv")


def _swap(home, key: str, data: bytes | None) -> bytes:
    """Replace (or with None, remove) the processed copy of a scoring file; returns its bytes before."""
    lake = store_from_url(str(home / "lake"))
    processed = f"landing/processed/score/{key}.csv"
    before = lake.read_bytes(processed) if lake.exists(processed) else b""
    lake.write_bytes(processed, data) if data is not None else lake.delete(processed)
    return before


def test_a_failed_rescoring_leaves_the_previous_predictions_untouched(nightly_file, home, instance):
    key, frame, _ = nightly_file
    before = predictions_of(home, key)
    original = _swap(home, key, frame.rename(columns={"Abdomen": "Waist"}).to_csv(index=False).encode())
    try:
        result = score_again(home, instance, key)
    finally:
        _swap(home, key, original)
    assert not result.success and "wrong_header" in str(result.failure_data_for_node("batch_predictions").error)
    assert predictions_of(home, key) == before


def test_a_rescoring_skips_a_partition_whose_file_is_gone_and_says_so(nightly_file, home, instance):
    """An orphan partition no longer fails after every promotion; its predictions stay."""
    key, _, _ = nightly_file
    before = predictions_of(home, key)
    original = _swap(home, key, None)
    try:
        result = score_again(home, instance, key, FROM_AUTOMATION)
    finally:
        _swap(home, key, original)
    assert result.success and not materialized(result)
    [observation] = [e.asset_observation_data.asset_observation for e in result.all_events
                     if e.event_type_value == "ASSET_OBSERVATION"]
    assert "no file for partition" in observation.metadata["rescore_skipped"].value
    assert predictions_of(home, key) == before


def test_a_new_champion_rescores_only_files_first_scored_within_the_window(nightly_file, home, instance):
    """The window applies to automatic re-scoring; a run started by hand always scores."""
    key, _, _ = nightly_file
    old = score_again(home, instance, key, FROM_AUTOMATION, BODYFAT_RESCORE_WINDOW_DAYS="0.000000001")
    assert old.success and not materialized(old)
    [observation] = [e.asset_observation_data.asset_observation for e in old.all_events
                     if e.event_type_value == "ASSET_OBSERVATION"]
    assert "outside the re-scoring window" in observation.metadata["rescore_skipped"].value
    assert materialized(score_again(home, instance, key, BODYFAT_RESCORE_WINDOW_DAYS="0.000000001")), "by hand"
    assert materialized(score_again(home, instance, key, FROM_AUTOMATION)), "within the default 7 days"
    assert materialized(score_again(home, instance, key, FROM_AUTOMATION, BODYFAT_RESCORE_WINDOW_DAYS="0"))


def test_two_scoring_files_score_at_once_into_complete_and_correct_outputs(first_run, home, instance, tmp_path):
    """Files are partitions; two runs score two of them at the same time (two processes on one
    instance and one lake, as two runs under max_concurrent_runs=2 would), and neither disturbs the other."""
    settings = settings_for(home)
    landing = store_from_url(f"{settings.lake_url}/landing")
    files = {}
    for name, rows in {"east.csv": 40_000, "west.csv": 30_000}.items():
        write_scoring_csv(tmp_path / name, rows)
        data = (tmp_path / name).read_bytes()
        landing.write_bytes(f"score/{name}", data)
        files[partition_key_for(name, content_hash(data))] = (name, rows)
    instance.add_dynamic_partitions(SCORING_FILES.name, list(files))
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home / "dagster")}
    runners = [subprocess.Popen([sys.executable, "-m", "tests.support.score_runner", str(home), key, name,
                                 str(barrier), str(len(files))], env=env, stdout=subprocess.PIPE, text=True,
                                cwd=Path(__file__).resolve().parents[2])
               for key, (name, _) in files.items()]
    outcomes = [json.loads(runner.communicate(timeout=900)[0].splitlines()[-1]) for runner in runners]
    assert all(o["success"] for o in outcomes) and len({o["run_id"] for o in outcomes}) == 2
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.sklearn.load_model(f"models:/{settings.model_name}@champion")
    for key, (name, rows) in files.items():
        out = parquet_to_frame(predictions_of(home, key))
        assert list(out["row_id"]) == list(range(1, rows + 1)) and out["issue"].isna().all()
        expected = model.predict(pd.read_csv(tmp_path / name)[list(FEATURE_NAMES)])
        np.testing.assert_allclose(out["prediction"], expected, rtol=1e-9)
        assert set(out["source"]) == {key} and set(out["model_version"]) == {champion_version(settings)}
        assert store_from_url(settings.lake_url).exists(f"landing/processed/score/{key}.csv")


def test_the_feeds_copies_keep_their_seed_rows_fold_in_the_retrain(first_run, home, instance):
    """A fed file's copies name their seed row (`origin`) through raw, cleaned and splits, and tuned_model sizes its
    interval on grouped folds (each copy in its seed row's group): recomputed from the lake's splits with
    `training_data`'s groups it is the logged one, and ungrouped folds give another."""
    from bodyfat_assets.core.evaluation import cv_plus_half_width
    from bodyfat_assets.core.training import training_data
    from bodyfat_assets.feed import away_from, seed_train_and_test_rows, synthetic_rows

    settings = settings_for(home)
    base, holdout = seed_train_and_test_rows(settings.data.test_fraction, settings.data.split_seed)
    rng = np.random.default_rng(11)
    copies = away_from(synthetic_rows(50, rng, labeled=True, base=base), holdout, rng, base)
    key, _ = land_and_run(settings, instance, "train", "synthetic-copies.csv", copies)
    retrain = run(settings, instance)
    assert retrain.success
    splits = parquet_to_frame(store_from_url(settings.lake_url).read_bytes("bodyfat_splits.parquet"))
    fed = splits[splits["source"] == key]
    assert len(fed) == 50 and fed["origin"].str.startswith(f"{SEED_PARTITION}:").all()
    tuned = retrain.output_for_node("tuned_model")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.sklearn.load_model(f"models:/{settings.model_name}/{tuned.model_version}")
    X, y, groups = training_data(splits, tuned.features)
    logged = retrain.asset_materializations_for_node("tuned_model")[0].metadata["interval_half_width_90"].value
    folds, seed = settings.tuning.cv_folds, settings.tuning.seed
    assert cv_plus_half_width(model, X, y, folds, seed, groups=groups) == pytest.approx(logged, rel=1e-9)
    assert len(np.unique(groups)) == len(X) - len(fed), "each copy is in its seed row's group"
    assert cv_plus_half_width(model, X, y, folds, seed) != pytest.approx(logged, rel=1e-6)
