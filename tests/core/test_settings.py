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
    assert s.mlflow_tracking_uri == "http://mlflow:5000" and s.optuna_storage.endswith("/o")


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
