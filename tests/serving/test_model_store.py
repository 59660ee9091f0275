"""ModelStore lifecycle against an in-memory registry: swaps, failures, fallback, in-flight references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bodyfat_contract import model_features
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from bodyfat_assets.testing.contract_model import training_frame
from bodyfat_assets.testing.services import wait_until
from bodyfat_assets.testing.serving_fakes import FakeSource, registry_model
from serving.model_store import ModelError, ModelStore, from_card, load_fallback
from serving.settings import FALLBACK_DIR

pytestmark = pytest.mark.filterwarnings("ignore:X does not have valid feature names")
ROW = np.array([[23, 154.25, 67.75, 36.2, 93.1, 85.2, 94.5, 59.0, 37.3, 21.9, 32.0, 27.4, 17.1]], dtype=float)


def store_for(source: FakeSource, poll_s: float = 3600) -> ModelStore:
    return ModelStore(lambda: source, fallback=lambda: load_fallback(FALLBACK_DIR), poll_interval_s=poll_s)


def test_in_flight_reference_survives_a_swap() -> None:
    source = FakeSource({"1": registry_model("1"), "2": registry_model("2", offset=10.0)}, champion="1")
    store = store_for(source)
    store.start()
    held = store.current  # what a request handler holds for its whole duration
    source.champion = "2"
    assert store.refresh().outcome == "swapped"
    assert store.current.version == "2"
    assert held.version == "1"
    assert held.predict(ROW)[0] + 10.0 == pytest.approx(store.current.predict(ROW)[0])
    store.stop()


def test_unchanged_alias_does_not_reload() -> None:
    source = FakeSource({"1": registry_model("1")}, champion="1")
    store = store_for(source)
    store.start()
    assert [store.refresh().outcome for _ in range(3)] == ["unchanged"] * 3
    assert source.loads == ["1"]
    store.stop()


def test_registry_failure_or_bad_model_keeps_the_current_model() -> None:
    class Broken:
        def load(self, version: str):
            raise ModelError("smoke prediction failed")

    source = FakeSource({"1": registry_model("1")}, champion="1")
    store = store_for(source)
    store.start()
    source.down = True
    assert store.refresh().outcome == "error" and store.current.version == "1"
    source.down, source.champion = False, None
    # A vanished alias is not a reason to drop a working champion.
    assert store.refresh().outcome == "no_champion" and store.current.version == "1"
    source.champion = "9"
    source.load = Broken().load
    assert store.refresh().outcome == "rejected" and store.current.version == "1"
    store.stop()


def test_poller_picks_up_a_new_champion_from_fallback() -> None:
    source = FakeSource({"3": registry_model("3")}, champion=None)
    store = store_for(source, poll_s=0.05)
    store.start()
    assert store.current.source == "fallback"
    source.champion = "3"
    wait_until(lambda: store.current.source == "registry", 10, "poller swap")
    assert store.current.version == "3"
    store.stop()


def test_card_must_honour_the_contract() -> None:
    estimator = load_fallback(FALLBACK_DIR).estimator
    with pytest.raises(ModelError):
        from_card(estimator, {"features": model_features()}, name="m", version="1", source="registry")
    with pytest.raises(ModelError):
        card = {"features": [*model_features(), "Density"], "interval_half_width_90": 1.0}
        from_card(estimator, card, name="m", version="1", source="registry")


def test_pipeline_selecting_columns_by_name_is_served_through_a_dataframe() -> None:
    frame = training_frame()
    # Only uses two columns, selected by name: numpy input would break it, so the store must notice.
    pipeline = Pipeline([
        ("pick", ColumnTransformer([("keep", "passthrough", ["Abdomen", "Weight"])])), ("ridge", Ridge()),
    ]).fit(frame[model_features()], frame["BodyFat"])  # fmt: skip
    model = from_card(
        pipeline, {"features": model_features(), "interval_half_width_90": 5.0}, name="m", version="1",
        source="registry",
    )  # fmt: skip
    assert model.needs_frame
    expected = pipeline.predict(pd.DataFrame(ROW, columns=model_features()))
    assert model.predict(ROW) == pytest.approx(expected)


def test_plain_pipeline_uses_the_numpy_path() -> None:
    assert not load_fallback(FALLBACK_DIR).needs_frame


def test_scaler_ridge_pipeline_is_folded_into_an_equivalent_affine_map() -> None:
    folded = load_fallback(FALLBACK_DIR)
    plain = load_fallback(FALLBACK_DIR, fold=False)
    assert folded.folded is not None and plain.folded is None
    rows = np.vstack([ROW, ROW * 1.1])
    expected = plain.estimator.predict(pd.DataFrame(rows, columns=model_features()))
    assert folded.predict(rows) == pytest.approx(expected, rel=1e-12)
    assert plain.predict(rows) == pytest.approx(expected, rel=1e-12)


def test_non_linear_pipeline_is_not_folded() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.preprocessing import StandardScaler

    frame = training_frame()
    pipeline = Pipeline([("scale", StandardScaler()), ("hgb", HistGradientBoostingRegressor(max_iter=5))])
    pipeline.fit(frame[model_features()], frame["BodyFat"])
    card = {"features": model_features(), "interval_half_width_90": 5.0}
    model = from_card(pipeline, card, name="m", version="1", source="registry")
    assert model.folded is None and not model.needs_frame
    assert model.predict(ROW) == pytest.approx(pipeline.predict(pd.DataFrame(ROW, columns=model_features())))


def test_log_feature_ensemble_is_folded_and_agrees_with_scikit_learn() -> None:
    from bodyfat_assets.core.families import build_pipeline

    frame = training_frame()
    params = {"lasso_alpha": 0.01, "svr_C": 10.0, "svr_epsilon": 0.5, "svr_gamma": 0.01}
    pipeline = build_pipeline("ensemble", params).fit(frame[model_features()], frame["BodyFat"])
    card = {"features": model_features(), "interval_half_width_90": 5.0}
    folded = from_card(pipeline, card, name="m", version="1", source="registry")
    plain = from_card(pipeline, card, fold=False, name="m", version="1", source="registry")
    assert folded.folded is not None and plain.folded is None
    rows = frame[model_features()].to_numpy()
    expected = pipeline.predict(frame[model_features()])
    assert folded.predict(rows) == pytest.approx(expected, rel=1e-9)
    assert folded.predict(rows[:1]) == pytest.approx(expected[:1], rel=1e-9), "the single-row path"


def test_a_fold_that_disagrees_with_scikit_learn_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import serving.loading as store_module  # where from_card looks fold_model up

    frame = training_frame()
    pipeline = Pipeline([("ridge", Ridge())]).fit(frame[model_features()], frame["BodyFat"])
    monkeypatch.setattr(store_module, "fold_model", lambda estimator: lambda rows: rows[:, 0] * 0.0)
    model = from_card(pipeline, {"features": model_features(), "interval_half_width_90": 5.0}, name="m",
                      version="1", source="registry")
    assert model.folded is None
    assert model.predict(ROW) == pytest.approx(pipeline.predict(pd.DataFrame(ROW, columns=model_features())))


def test_unknown_steps_are_not_folded() -> None:
    from sklearn.preprocessing import FunctionTransformer

    from serving.model_store import fold_model

    frame = training_frame()
    pipeline = Pipeline([("sqrt", FunctionTransformer(np.sqrt)), ("ridge", Ridge())])
    assert fold_model(pipeline.fit(frame[model_features()], frame["BodyFat"])) is None


def test_a_refused_champion_is_not_downloaded_on_every_poll() -> None:
    class RefusedThenFixed(FakeSource):
        def load(self, version: str):
            self.loads.append(version)
            raise ModelError("smoke prediction failed")

    source = RefusedThenFixed({}, champion="7")
    store = store_for(source, poll_s=3600)
    store.start()  # first try: refused, fallback served
    outcomes = [store.refresh().outcome for _ in range(10)]
    assert outcomes == ["rejected"] * 10 and store.current.source == "fallback"
    assert source.loads == ["7"], "a refused version waits for its backoff"
    assert store.refresh(force=True).outcome == "rejected" and source.loads == ["7", "7"], "an operator may force it"
    store.stop()


def test_registry_errors_say_their_class_only() -> None:
    class Leaky(FakeSource):
        def champion_version(self):
            raise ConnectionError("API request to http://user:hunter2@mlflow:5000/api failed")

    store = store_for(Leaky())
    store.start()
    outcome = store.refresh()
    assert outcome.outcome == "error" and outcome.detail == "ConnectionError"
    store.stop()
