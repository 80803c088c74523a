"""The engine's layering: the import-linter contracts of pyproject.toml hold, and no module of grader imports
itself back through others (an import cycle).

The contracts (``[tool.importlinter]``) say which layer may import which: cli > api > grading > checks > sandbox >
models, and inside the sandbox the CUDA probe > runner > processes > pool > isolation > the leaf modules.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "grader"


def test_the_import_contracts_are_kept():
    pytest.importorskip("importlinter", reason="import-linter is in the test extra: pip install -e '.[test]'")
    run = ("import sys; from importlinter.cli import lint_imports_command; "
           "sys.exit(lint_imports_command(prog_name='lint-imports'))")
    done = subprocess.run([sys.executable, "-c", run, "--no-cache", "--no-logo", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout, done.stdout


def import_graph(package: str) -> dict[str, set[str]]:
    """Who imports whom among ``package``'s modules: every import statement, TYPE_CHECKING and function-level ones
    too; a module's import of a package that contains it does not count (running a package's __init__ is not a
    cycle)."""
    grimp = pytest.importorskip("grimp", reason="grimp comes with import-linter: pip install -e '.[test]'")
    graph = grimp.build_graph(package, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        edges[module] = {imported for imported in graph.find_modules_directly_imported_by(module)
                         if imported != module and not module.startswith(imported + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module: the import cycles."""
    reach: dict[str, set[str]] = {}
    for start in edges:
        seen, todo = set(), [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    components: dict[frozenset[str], None] = {}
    for module in edges:
        component = frozenset({module} | {other for other in reach[module] if module in reach.get(other, ())})
        if len(component) > 1:
            components[component] = None
    return sorted(components, key=sorted)


def test_cycles_are_found():
    found = cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()})
    assert found == [frozenset({"a", "b", "c"})]


def test_no_import_cycles_among_graders_modules():
    found = [" <-> ".join(sorted(c)) for c in cycles(import_graph(PACKAGE))]
    assert not found, "import cycles: " + "; ".join(found)


def test_the_graph_counts_type_checking_imports():
    """Unlike the contracts, the cycle check counts imports under TYPE_CHECKING: a cycle there is one all the same
    for a reader, and for a type checker."""
    edges = import_graph(PACKAGE)
    assert "grader.sandbox.gpu_devices" in edges["grader.sandbox.pool"]  # the pool keeps a GpuProbe
    assert edges["grader.sandbox.gpu_devices"] == {"grader.sandbox.mounts"}  # the bottom of the sandbox
