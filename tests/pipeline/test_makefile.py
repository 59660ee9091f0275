"""`make help` is a newcomer's map: every public target listed once, no Make escapes leaking into the text."""

import re
import subprocess

from bodyfat_assets.settings import PROJECT_ROOT


def test_make_help_lists_every_phony_target_without_make_escapes():
    makefile = (PROJECT_ROOT / "Makefile").read_text().replace("\\\n", " ")  # join continued lines, as Make does
    phony = set(re.search(r"^\.PHONY: (.+)$", makefile, re.M).group(1).split())
    result = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "help"], capture_output=True, text=True,
                            check=True, timeout=60)
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert sorted(listed) == sorted(phony), "every .PHONY target has a `## description`, and only those are listed"
    assert "$$" not in result.stdout and "$(" not in result.stdout
