import pytest

from bodyfat_assets.settings import Settings, SettingsError


def test_embedded_is_the_default_and_lives_in_one_folder(tmp_path):
    s = Settings.from_env({"BODYFAT_HOME": str(tmp_path)})
    assert s.env == "embedded" and not s.is_production
    assert s.lake_url == str(tmp_path / "lake")
    assert s.mlflow_tracking_uri == f"sqlite:///{tmp_path}/mlflow.db"
    assert s.tuning.n_trials == 50 and s.model_name == "bodyfat"


def test_production_reads_services_from_env():
    s = Settings.from_env({"BODYFAT_ENV": "production", "BODYFAT_BUCKET": "lake", "BODYFAT_LAKE_PREFIX": "/v1/",
                           "MLFLOW_TRACKING_URI": "http://mlflow:5000", "OPTUNA_STORAGE": "postgresql+psycopg2://x/o",
                           "S3_ENDPOINT_URL": "http://minio:9000"})
    assert s.lake_url == "s3://lake/v1" and s.s3_endpoint_url == "http://minio:9000"
    assert s.mlflow_tracking_uri == "http://mlflow:5000" and s.tuning.storage.endswith("/o")


@pytest.mark.parametrize("missing", ["BODYFAT_BUCKET", "MLFLOW_TRACKING_URI", "OPTUNA_STORAGE"])
def test_production_refuses_to_guess(missing):
    env = {"BODYFAT_ENV": "production", "BODYFAT_BUCKET": "b", "MLFLOW_TRACKING_URI": "http://m",
           "OPTUNA_STORAGE": "sqlite://"}
    del env[missing]
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_overrides_and_bad_values():
    s = Settings.from_env({"BODYFAT_TRIALS": "7", "BODYFAT_FAMILIES": "ridge, svr", "BODYFAT_PROMOTION_MARGIN": "0.2"})
    assert s.tuning.n_trials == 7 and s.tuning.families == ("ridge", "svr") and s.promotion.margin == 0.2
    with pytest.raises(SettingsError, match="BODYFAT_TRIALS"):
        Settings.from_env({"BODYFAT_TRIALS": "many"})
    with pytest.raises(SettingsError, match="BODYFAT_ENV"):
        Settings.from_env({"BODYFAT_ENV": "staging"})


@pytest.mark.parametrize(("variable", "value"), [
    ("BODYFAT_CV_FOLDS", "1"), ("BODYFAT_TEST_FRACTION", "1.5"), ("BODYFAT_SENSORS", "sometimes"),
    ("BODYFAT_ALLOW_DENSITY", "perhaps"), ("POSTGRES_PORT", "pg"), ("BODYFAT_PROMOTION_MARGIN", "-1"),
])
def test_a_bad_value_names_its_variable(variable, value):
    with pytest.raises(SettingsError, match=f"{variable}={value!r}"):
        Settings.from_env({variable: value})


def test_empty_means_unset_and_groups_keep_their_defaults():
    s = Settings.from_env({"BODYFAT_TRIALS": "", "BODYFAT_TUNING_TIMEOUT_S": "0", "OPTUNA_STORAGE": " "})
    assert s.tuning.n_trials == 50 and s.tuning.timeout_s is None and s.tuning.storage is None
    assert s.tuning.families == () and s.promotion.margin == 0.0 and s.landing.prefix == "landing"


def test_sensors_run_embedded_and_wait_for_an_operator_in_production():
    production = {"BODYFAT_ENV": "production", "BODYFAT_BUCKET": "b", "MLFLOW_TRACKING_URI": "http://m",
                  "OPTUNA_STORAGE": "sqlite://"}
    assert Settings.from_env({}).landing.sensors_running
    assert not Settings.from_env(production).landing.sensors_running
    assert Settings.from_env(production | {"BODYFAT_SENSORS": "running"}).landing.sensors_running


def test_the_embedded_demo_retrains_at_demo_speed_and_production_keeps_its_interval():
    production = {"BODYFAT_ENV": "production", "BODYFAT_BUCKET": "b", "MLFLOW_TRACKING_URI": "http://m",
                  "OPTUNA_STORAGE": "sqlite://"}
    assert Settings.from_env({}).landing.retrain_min_interval_s == 60
    assert Settings.from_env(production).landing.retrain_min_interval_s == 600
    assert Settings.from_env({"BODYFAT_RETRAIN_MIN_INTERVAL_S": "5"}).landing.retrain_min_interval_s == 5
    assert Settings.from_env(production | {"BODYFAT_RETRAIN_MIN_INTERVAL_S": "0"}).landing.retrain_min_interval_s == 0


def test_dotenv_files_sit_under_the_given_variables(tmp_path):
    (tmp_path / "base.env").write_text("BODYFAT_TRIALS=3\nBODYFAT_CV_FOLDS=3\n")
    (tmp_path / "local.env").write_text("export BODYFAT_CV_FOLDS='4'\n")
    s = Settings.from_env({"BODYFAT_SEED": "7"}, dotenv_files=(tmp_path / "base.env", tmp_path / "local.env",
                                                               tmp_path / "absent.env"))
    assert (s.tuning.n_trials, s.tuning.cv_folds, s.tuning.seed) == (3, 4, 7)


def test_the_ui_port_is_read_from_its_one_name():
    assert Settings.from_env({"DAGSTER_WEBSERVER_PORT": "3123"}).services.webserver_port == 3123
    assert Settings.from_env({"DAGIT_PORT": "3123"}).services.webserver_port == 3000
    assert Settings.from_env({}).dagster_home == Settings.from_env({}).home / "dagster"
