"""The core (bodyfat_assets/core/, the landing package included) and the lake stores import no Dagster: they run
and are tested without an orchestrator."""

import ast
from pathlib import Path

import bodyfat_assets

PACKAGE = Path(bodyfat_assets.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_dagster_import_in_the_core_or_the_stores():
    files = [*sorted((PACKAGE / "core").rglob("*.py")), PACKAGE / "lake.py"]
    assert len(files) > 10
    offenders = {str(f.relative_to(PACKAGE)): sorted(m for m in imported_modules(f) if m.split(".")[0].startswith(
        "dagster")) for f in files}
    assert {f: m for f, m in offenders.items() if m} == {}
