"""Logging that never prints URL credentials: `MLFLOW_TRACKING_URI` may carry `user:password@`, and MLflow puts the
URI into its exception messages (issue 14, item 3)."""

from __future__ import annotations

import logging
import re

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:]+(?::[^/\s@]*)?@")


def redact(text: str) -> str:
    """`scheme://user:secret@host` → `scheme://***@host`, anywhere in the text."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Root logging for `python -m serving` (uvicorn's loggers propagate here), credentials redacted."""
    logging.basicConfig(level=level.upper())
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
