"""One configuration model: the only reader of the environment, and documented exactly where users look."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bodyfat_assets.settings import PROJECT_ROOT, read_dotenv, variable_names, variable_table
from serving.settings import ServingSettings

THE_READER = PROJECT_ROOT / "bodyfat_assets" / "settings.py"
SCANNED = ("bodyfat_assets", "scripts", "bench")
# The test harness reads the test run's own variables (CI, BODYFAT_TEST_PG_DSN, BODYFAT_TEST_REDIS_URL), not the
# platform's configuration.
HARNESS = PROJECT_ROOT / "bodyfat_assets" / "testing"
ENV_FUNCTIONS = {"getenv", "getenvb", "putenv", "unsetenv", "environ", "environb"}
DOCUMENTED = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
"""`NAME=value`, or `# NAME=default` for a variable .env.example documents without setting."""


def environment_reads(path: Path) -> list[str]:
    """`os.environ`, `os.getenv(...)` and friends, however os or its names were imported."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ENV_FUNCTIONS:
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} from os import {alias.name}"
                      for alias in node.names if alias.name in ENV_FUNCTIONS]
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    files = [p for folder in SCANNED for p in sorted((PROJECT_ROOT / folder).rglob("*.py"))
             if p != THE_READER and HARNESS not in p.parents]
    assert len(files) > 20, "the scan found too few files to mean anything"
    offenders = [hit for path in files for hit in environment_reads(path)]
    assert not offenders, f"read the environment through bodyfat_assets/settings.py instead: {offenders}"
    assert environment_reads(THE_READER), "the scan must recognise the one reader it exempts"


def test_env_example_lists_exactly_the_models_variables() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    documented = DOCUMENTED.findall(text)
    twice = sorted({name for name in documented if documented.count(name) > 1})
    assert not twice, f"listed twice in .env.example: {twice}"
    serving = {f"BODYFAT_SERVING_{name.upper()}" for name in ServingSettings.model_fields}
    model = set(variable_names())
    assert model <= set(documented), f"missing from .env.example: {sorted(model - set(documented))}"
    unknown = set(documented) - model - serving
    assert not unknown, f".env.example lists variables no settings model declares: {sorted(unknown)}"
    assert set(read_dotenv(PROJECT_ROOT / ".env.example")) <= model | serving


def test_the_documented_table_is_the_models_table() -> None:
    documented = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    table = variable_table()
    assert [row.split("`")[1] for row in table.splitlines()[2:]] == variable_names()
    assert table in documented, "docs/configuration.md is stale: paste `python -m bodyfat_assets.settings` over it"
