"""The benchmark starts `mlflow models serve`, which looks for `uvicorn` on PATH only; it must find
this virtualenv's without the virtualenv being activated."""

import shutil
import sys
from pathlib import Path

from bench.serving import with_venv_on_path


def test_the_peer_server_finds_this_environments_uvicorn() -> None:
    env = with_venv_on_path({"PATH": "/usr/bin:/bin"})
    found = shutil.which("uvicorn", path=env["PATH"])
    assert found is not None and Path(found).parent == Path(sys.executable).parent
