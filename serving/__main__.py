"""`python -m serving`: one uvicorn worker serving `create_app()` configured from the environment."""

from __future__ import annotations

import os

# Must precede any numpy/sklearn import: OpenMP sizes its pool once. One thread per worker keeps
# HistGradientBoosting from fighting the event loop and the GIL (5-23 ms per request with default threading).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import uvicorn

    from serving import logs
    from serving.app import create_app
    from serving.server import server_config
    from serving.settings import ServingSettings

    settings = ServingSettings()
    logs.configure(settings.log_level)
    uvicorn.Server(server_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
