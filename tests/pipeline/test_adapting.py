"""docs/adapting.md followed on scikit-learn's diabetes dataset (shipped with it, offline), through the asset graph.

The guide's step 1 is an edit of the feature contract: here, a copy of `bodyfat_contract` with its FEATURES, TARGET
and DENSITY replaced by the block below, first on the PYTHONPATH of a process of its own
(tests/support/adapted_pipeline.py), so the installed body-fat contract is shadowed exactly as a user's edit replaces
it. That process ingests the diabetes seed (BODYFAT_SEED_DATASET), retrains with the raw-feature families and scores
the seed on the embedded default (local lake, SQLite MLflow) in a temporary BODYFAT_HOME. This process only reads
what it left: the lake's Parquet files and the registry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import population_distance
from mlflow import MlflowClient
from sklearn.datasets import load_diabetes

from bodyfat_assets.core import evaluation
from bodyfat_assets.core.landing.naming import SEED_PARTITION
from bodyfat_assets.core.splits import train_test_frames
from bodyfat_assets.defs.data.checks import KNOWN_ANOMALIES, known_anomalies
from bodyfat_assets.lake import parquet_to_frame, store_from_url
from bodyfat_assets.settings import PROJECT_ROOT, Settings, variable_names

pytestmark = pytest.mark.e2e

# Step 1: the contract, plausible ranges for adults (not the observed minimum and maximum); no density column.
DIABETES_CONTRACT = '''FEATURES: tuple[Feature, ...] = (
    Feature("age", "years", 18, 90, "age at baseline"),
    Feature("sex", "code", 1, 2, "sex, coded 1 or 2"),
    Feature("bmi", "kg/m2", 15, 60, "body mass index"),
    Feature("bp", "mmHg", 50, 160, "mean arterial pressure"),
    Feature("s1", "mg/dL", 80, 350, "total serum cholesterol (tc)"),
    Feature("s2", "mg/dL", 30, 260, "low-density lipoproteins (ldl)"),
    Feature("s3", "mg/dL", 15, 110, "high-density lipoproteins (hdl)"),
    Feature("s4", "ratio", 1, 12, "total cholesterol / HDL (tch)"),
    Feature("s5", "log mg/dL", 3, 7, "log of serum triglycerides (ltg)"),
    Feature("s6", "mg/dL", 50, 140, "blood sugar level (glu)"),
)

TARGET = Feature("progression", "score", 20, 360, "disease progression one year after baseline")
DENSITY: Feature | None = None
'''
*FEATURES, TARGET = re.findall(r'Feature\("(\w+)"', DIABETES_CONTRACT)  # the names, in the block's order
CONTRACT_BLOCK = ("FEATURES: tuple[Feature, ...] = (", "DENSITY: Feature | None = ")
"""Where the block the guide replaces starts, and the line it ends with, in contract/bodyfat_contract/__init__.py."""
OUT_OF_RANGE_BMI = 75.0
"""A typo the diabetes contract's bmi range (15-60) refuses: the extra seed row carrying it must be quarantined."""
SETTINGS = {"BODYFAT_FAMILIES": "ridge,elasticnet",  # step 3: the raw-feature families
            "BODYFAT_TRIALS": "4", "BODYFAT_CV_FOLDS": "3"}


def diabetes_contract(folder: Path) -> Path:
    """The installed contract package copied into `folder`, its body-fat block replaced by DIABETES_CONTRACT."""
    package = folder / "bodyfat_contract"
    shutil.copytree(PROJECT_ROOT / "contract" / "bodyfat_contract", package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    source = (package / "__init__.py").read_text()
    start = source.index(CONTRACT_BLOCK[0])
    end = source.index("\n", source.index(CONTRACT_BLOCK[1])) + 1
    (package / "__init__.py").write_text(source[:start] + DIABETES_CONTRACT + source[end:])
    return folder


def diabetes_seed() -> pd.DataFrame:
    """The 442 patients under the contract's names, then one row whose bmi is outside the contract (row 443)."""
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": TARGET})
    typo = frame.iloc[[0]].assign(bmi=OUT_OF_RANGE_BMI)
    return pd.concat([frame, typo], ignore_index=True)[[*FEATURES, TARGET]]


@pytest.fixture(scope="module")
def seed() -> pd.DataFrame:
    return diabetes_seed()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("diabetes_home")


@pytest.fixture(scope="module")
def outcome(tmp_path_factory, home, seed) -> dict:
    work = tmp_path_factory.mktemp("diabetes")
    seed.to_csv(work / "diabetes.csv", index=False)
    contract = diabetes_contract(work / "contract")
    inherited = {name: value for name, value in os.environ.items() if name not in variable_names()}  # no stray knob
    env = {**inherited, **SETTINGS, "BODYFAT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "BODYFAT_SEED_DATASET": str(work / "diabetes.csv"),
           # The promotion gate's ceiling is the target's spread: a champion must beat predicting the mean.
           "BODYFAT_RMSE_CEILING": f"{seed[TARGET].std():.3f}",
           "PYTHONPATH": os.pathsep.join([str(contract), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    done = subprocess.run([sys.executable, "-m", "tests.support.adapted_pipeline"], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-5000:]
    return json.loads(done.stdout.splitlines()[-1])


def settings_for(home: Path) -> Settings:
    return Settings.from_env({"BODYFAT_HOME": str(home)})


def lake_frame(home: Path, key: str) -> pd.DataFrame:
    return parquet_to_frame(store_from_url(str(home / "lake")).read_bytes(key))


def test_the_graph_ran_under_the_diabetes_contract_and_every_check_passed(outcome) -> None:
    assert Path(outcome["contract_file"]).parent.parent != PROJECT_ROOT / "contract", "the edited contract is used"
    assert outcome["raw_columns"] == [TARGET, *FEATURES], "no Density column"
    assert outcome["runs"] == {"ingest_labeled_file": True, "bodyfat_pipeline": True, "score_batch": True}, \
        outcome["failures"]
    failed = [name for name, passed in outcome["checks"].items() if not passed]
    assert not failed, failed
    # Among them the contract's ranges, the split's leak guard, the quality gate, and body fat's known rows (none
    # named for this seed).
    assert {"cleaned_bodyfat:cleaned_in_range", "bodyfat_splits:splits_no_near_duplicates",
            "tuned_model:density_not_a_feature", "tuned_model:rmse_below_ceiling", "tuned_model:beats_ridge_baseline",
            "cleaned_bodyfat:known_anomalies_quarantined"} <= set(outcome["checks"]), sorted(outcome["checks"])


def test_the_row_outside_the_contract_is_quarantined_with_its_reason(outcome, home, seed) -> None:
    quarantine = lake_frame(home, "quarantined_bodyfat.parquet")
    assert list(quarantine["row_id"]) == [len(seed)] and list(quarantine["rules"]) == ["out_of_range"], \
        quarantine[["row_id", "rules", "reasons"]]
    assert "bmi" in quarantine["reasons"].iloc[0] and f"{OUT_OF_RANGE_BMI:g}" in quarantine["reasons"].iloc[0]
    cleaned = lake_frame(home, "cleaned_bodyfat.parquet")
    assert len(cleaned) == len(seed) - 1 and "Density" not in cleaned.columns


def test_the_champion_beats_the_targets_spread_on_the_test_split(outcome, home, seed) -> None:
    settings = settings_for(home)
    client = MlflowClient(settings.mlflow_tracking_uri)
    champion = client.get_model_version_by_alias(settings.model_name, "champion")
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    uri = f"models:/{settings.model_name}@champion"
    model = mlflow.sklearn.load_model(uri)
    card = mlflow.models.get_model_info(uri).metadata
    assert card["features"] == FEATURES and card["family"] in ("ridge", "elasticnet")
    train, test = train_test_frames(lake_frame(home, "bodyfat_splits.parquet"))
    assert set(test["source"]) == {SEED_PARTITION} and len(train) + len(test) == len(seed) - 1
    predicted = model.predict(test[FEATURES])
    rmse = evaluation.regression_metrics(test[TARGET], predicted).rmse
    spread = seed[TARGET].std()
    assert rmse == pytest.approx(card["test_rmse"], abs=1e-3) and str(champion.version) == "1"
    assert rmse < 0.8 * spread, f"test RMSE {rmse:.1f} against a standard deviation of {spread:.1f}"
    coverage = evaluation.interval_coverage(test[TARGET], predicted, card["interval_half_width_90"])
    assert 0.8 <= coverage <= 1.0, f"±{card['interval_half_width_90']:.0f} covers {coverage:.2f} of the test rows"


def test_the_champion_scored_the_seed_and_refused_the_row_outside_the_contract(outcome, home, seed) -> None:
    settings = settings_for(home)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    model = mlflow.sklearn.load_model(f"models:/{settings.model_name}@champion")
    predictions = lake_frame(home, f"predictions/{SEED_PARTITION}.parquet")
    assert list(predictions["row_id"]) == list(range(1, len(seed) + 1))
    scored = predictions["issue"].isna().to_numpy()
    assert list(predictions.loc[~scored, "row_id"]) == [len(seed)]
    assert "bmi" in predictions["issue"].iloc[-1]
    np.testing.assert_allclose(predictions.loc[scored, "prediction"], model.predict(seed.loc[scored, FEATURES]),
                               rtol=1e-9)


def test_serving_would_warn_about_a_patient_unlike_the_training_rows(outcome, home, seed) -> None:
    """Step 5: every diabetes predictor is positive, so the champion's card carries its training population."""
    settings = settings_for(home)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    population = mlflow.models.get_model_info(f"models:/{settings.model_name}@champion").metadata[
        "training_population"]
    assert population["features"] == FEATURES
    usual = seed[FEATURES].iloc[1].to_dict()
    unlike = {**usual, "bmi": 18.0, "s1": 340.0, "s2": 45.0, "s3": 100.0}  # each in range, together not
    assert population_distance(population, usual) <= population["threshold"] < population_distance(population, unlike)


def test_the_known_anomaly_check_names_body_fats_rows_for_its_seed_only() -> None:
    assert known_anomalies(Settings.from_env({}).data.seed_dataset) == KNOWN_ANOMALIES, "the default seed is body fat's"
    assert known_anomalies(PROJECT_ROOT / "data" / "diabetes.csv") == {}
