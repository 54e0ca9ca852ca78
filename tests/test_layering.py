"""Who may import whom: engine/ knows no application (it loads one only by a module:attribute setting)
and domain/ knows no queue."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "engine": {"processors", "domain", "api_shim", "dashboard", "bench", "tests"},
    "domain": {"engine", "processors", "api_shim", "dashboard", "bench", "tests"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level package of every absolute import in the file (relative imports stay inside)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_it_must_not_know(package):
    wrong = {str(p.relative_to(ROOT)): sorted(imported_packages(p) & FORBIDDEN[package])
             for p in sorted((ROOT / package).rglob("*.py"))}
    assert {f: names for f, names in wrong.items() if names} == {}
