"""Logging a model points MLflow at the tracker only for the call, and leaves the process's settings as they were."""

from __future__ import annotations

import os

import mlflow
import pytest
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

from bodyfat_assets.tracking import MLFLOW_TRACKING_URI_VARIABLE, _tracking_uri_for_the_call


def test_the_scoped_tracking_uri_keeps_the_variable_the_next_run_reads(tmp_path, monkeypatch) -> None:
    configured = f"sqlite:///{tmp_path / 'configured.db'}"
    monkeypatch.setenv(MLFLOW_TRACKING_URI_VARIABLE, configured)
    monkeypatch.setattr(mlflow_tracking_utils, "_tracking_uri", None)  # a process that never set a global URI
    with _tracking_uri_for_the_call(f"sqlite:///{tmp_path / 'tracker.db'}"):
        assert mlflow.get_tracking_uri().endswith("tracker.db")
    # mlflow 3.17 alone would unset the variable here (restoring a None global URI)
    assert os.environ.get(MLFLOW_TRACKING_URI_VARIABLE) == configured
    assert mlflow.get_tracking_uri() == configured


def test_without_a_configured_variable_nothing_is_invented(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(MLFLOW_TRACKING_URI_VARIABLE, raising=False)
    monkeypatch.setattr(mlflow_tracking_utils, "_tracking_uri", None)
    with _tracking_uri_for_the_call(f"sqlite:///{tmp_path / 'tracker.db'}"):
        pass
    with pytest.raises(KeyError):
        os.environ[MLFLOW_TRACKING_URI_VARIABLE]
