"""Logging that never prints URL credentials: `MLFLOW_TRACKING_URI` may carry `user:password@`, and MLflow puts the
URI into its exception messages."""

from __future__ import annotations

import logging
import re

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:]+(?::[^/\s@]*)?@")


def redact(text: str) -> str:
    """`scheme://user:secret@host` → `scheme://***@host`, anywhere in the text."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


# uvicorn's own line when the shutdown grace runs out ("Cancel 3 running task(s), timeout graceful shutdown exceeded").
GRACE_EXCEEDED = "timeout graceful shutdown exceeded"


class GraceExceededIsAWarning(logging.Filter):
    """uvicorn logs the end of the shutdown grace as an ERROR; with a grace configured, cutting what still runs
    then is the expected outcome (the requests are answered 503 by `serving.server.CutAtShutdown`), and this line,
    which says how many, is the one a shutdown leaves."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and GRACE_EXCEEDED in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(level: str) -> None:
    """Root logging for `python -m serving` (uvicorn's loggers propagate here), credentials redacted."""
    logging.basicConfig(level=level.upper())
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.getLogger("uvicorn.error").addFilter(GraceExceededIsAWarning())
