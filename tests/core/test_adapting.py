"""docs/adapting.md, followed on scikit-learn's diabetes dataset (shipped with it, offline): a contract of its own,
the raw-feature families, the CV+ interval and the serving warning, through the core functions the assets call."""

from __future__ import annotations

from bodyfat_contract import Feature, population_distance, training_population
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

from bodyfat_assets.core import evaluation
from bodyfat_assets.core.tuning import TuningConfig, tune

# Step 1: the contract, plausible ranges for adults (not the observed minimum and maximum).
FEATURES = (
    Feature("age", "years", 18, 90, "age at baseline"), Feature("sex", "code", 1, 2, "sex, coded 1 or 2"),
    Feature("bmi", "kg/m2", 15, 60, "body mass index"), Feature("bp", "mmHg", 50, 160, "mean arterial pressure"),
    Feature("s1", "mg/dL", 80, 350, "total serum cholesterol"), Feature("s2", "mg/dL", 30, 260, "LDL"),
    Feature("s3", "mg/dL", 15, 110, "HDL"), Feature("s4", "ratio", 1, 12, "total / HDL cholesterol"),
    Feature("s5", "log mg/dL", 3, 7, "log of serum triglycerides"), Feature("s6", "mg/dL", 50, 140, "blood sugar"),
)  # fmt: skip
TARGET = Feature("progression", "score", 20, 360, "disease progression one year after baseline")


def test_the_adapting_guide_runs_on_the_diabetes_dataset() -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": TARGET.name})
    names = [f.name for f in FEATURES]
    outside = {f.name: int((~frame[f.name].between(f.low, f.high)).sum()) for f in (*FEATURES, TARGET)}
    assert sum(outside.values()) == 0, f"the contract's ranges refuse real rows: {outside}"

    train, test = train_test_split(frame, test_size=0.2, random_state=42)
    config = TuningConfig(n_trials=6, cv_folds=3, families=("ridge", "elasticnet"))  # step 3: raw-feature families
    result = tune(train[names], train[TARGET.name], config)
    predicted = result.model.predict(test[names])
    rmse = evaluation.regression_metrics(test[TARGET.name], predicted).rmse
    assert rmse < 0.8 * frame[TARGET.name].std(), f"test RMSE {rmse:.1f}: no better than the mean"

    half_width = evaluation.cv_plus_half_width(result.model, train[names], train[TARGET.name], 3, 42)  # step 4
    coverage = evaluation.interval_coverage(test[TARGET.name].to_numpy(), predicted, half_width)
    assert 0.8 <= coverage <= 1.0, f"±{half_width:.0f} covers {coverage:.2f} of the test rows"

    population = training_population({name: train[name].tolist() for name in names})  # step 5: the serving warning
    assert population, "positive predictors: the population exists"
    usual = test[names].iloc[0].to_dict()
    impossible = {**usual, "bmi": 18.0, "s1": 340.0, "s2": 45.0, "s3": 100.0}  # each in range, together not
    assert population_distance(population, usual) <= population["threshold"] < population_distance(
        population, impossible)
