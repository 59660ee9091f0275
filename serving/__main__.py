"""`python -m serving`: one uvicorn worker serving `create_app()` configured from the environment."""

from __future__ import annotations

import os

# Must precede any numpy/sklearn import: OpenMP sizes its pool once. One thread per worker keeps
# HistGradientBoosting from fighting the event loop and the GIL (5-23 ms per request with default threading).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import logging

    import uvicorn

    from serving.app import create_app
    from serving.settings import ServingSettings

    settings = ServingSettings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # access_log off: one log line per request costs more than a Ridge prediction; /metrics counts requests.
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False
    )


if __name__ == "__main__":
    main()
