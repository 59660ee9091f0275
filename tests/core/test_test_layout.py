"""Tests share helpers through tests/support/, never by importing a conftest (pytest may load a conftest twice under
two module names, and a test that imports one depends on where pytest was started)."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_module_imports_a_conftest():
    offenders = []
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(TESTS)}: {name}" for name in names if name.split(".")[-1] == "conftest"]
    assert not offenders, offenders
