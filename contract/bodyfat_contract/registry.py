"""What the pipeline and the serving API both read from MLflow's registry errors (standard library only: the
error is read by its attributes, so neither side needs more than the MLflow client it already has)."""

from __future__ import annotations

from typing import Any

__all__ = ["CHALLENGER", "CHAMPION", "is_missing_alias"]

# The registry aliases: `champion` is the version in production (the pipeline moves it, serving loads it);
# `challenger` is the newest trained version, whatever the decision.
CHAMPION, CHALLENGER = "champion", "challenger"


def is_missing_alias(exc: Any) -> bool:
    """True when an `MlflowException` says the registered model or its alias does not exist: the registry answered,
    there is no such version (any other error means the registry could not be asked).

    MLflow 3.17.2 answers the same from a SQLite store, a file store and through `mlflow server`'s REST API:
    RESOURCE_DOES_NOT_EXIST for an unknown model; INVALID_PARAMETER_VALUE "Registered model alias X not found." for
    an unknown alias. That code also means a malformed name ("Invalid alias name: ..."), hence the message test.
    """
    code = getattr(exc, "error_code", None)
    if code == "RESOURCE_DOES_NOT_EXIST":
        return True
    message = str(getattr(exc, "message", ""))
    return code == "INVALID_PARAMETER_VALUE" and "alias" in message and "not found" in message
