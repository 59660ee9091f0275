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


def _imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_tests_share_helpers_only_through_tests_support():
    """A test module imported by another runs its module-level setup twice and hides what is shared."""
    offenders = []
    for path in TESTS.rglob("*.py"):
        offenders += [f"{path.relative_to(TESTS.parent)}: {name}" for name in _imported_modules(path)
                      if name.startswith("tests.") and not name.startswith("tests.support.")]
    assert not offenders, offenders


def test_benchmarks_and_the_package_never_import_tests():
    """bench/ measures what the tests prove through the harness in bodyfat_assets.testing, never by reaching into
    tests/; the package (its harness included) stands without the test tree."""
    offenders = []
    for path in [*(TESTS.parent / "bench").glob("*.py"), *(TESTS.parent / "bodyfat_assets").rglob("*.py")]:
        offenders += [f"{path.relative_to(TESTS.parent)}: {name}" for name in _imported_modules(path)
                      if name == "tests" or name.startswith("tests.")]
    assert not offenders, offenders


def test_the_longest_files_conftest_starts_first_still_exist():
    # Read, not imported (see above): a renamed file would silently drop out of the longest-first order.
    listed = [node.value for node in ast.walk(ast.parse((TESTS / "conftest.py").read_text()))
              if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("tests/")]
    assert len(listed) >= 5
    assert [path for path in listed if not (TESTS.parent / path).is_file()] == []
