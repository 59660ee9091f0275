"""The alert rules shipped in docs/monitoring/ are valid Prometheus rules, and name only metrics the API exports or
`bodyfat health --textfile` writes."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bodyfat_assets.core.health.fit import champion_fit, fit_metrics
from bodyfat_assets.testing.serving_fakes import FakeSource
from serving.schemas import EXAMPLE_RECORD

RULES = Path(__file__).resolve().parents[2] / "docs" / "monitoring" / "alerts.yml"


def test_promtool_accepts_the_alert_rules():
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool missing: .ci/run installs Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    result = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_the_rules_use_metrics_the_api_exports(make_client):
    client = make_client(source=FakeSource(champion=None))  # the bundled fallback, whose card has a profile
    client.post("/predict", json=EXAMPLE_RECORD)
    exported = {line.split("{")[0].split(" ")[0] for line in client.get("/metrics").text.splitlines()
                if line and line[0] != "#"}
    exported |= {re.sub(r"_(bucket|count|sum|total)$", "", name) for name in exported}
    unfit = champion_fit("blocked", "3", 6.09, 3.82, ceiling=6.0, ratio=1.25)
    exported |= {line.split(" ")[0] for line in fit_metrics(unfit).splitlines() if line[0] != "#"}
    used = set(re.findall(r"\b(bodyfat_[a-z_]+)", RULES.read_text()))
    assert used and used <= exported | {f"{n}_{s}" for n in exported for s in ("bucket", "count", "sum", "total")}
