"""The package layout stays acyclic and small: no import cycles inside ``sessions_app`` (imports
inside functions count too: a lazy import hides a cycle, it does not remove it), and no module
grows past the size the layout promises (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import sessions_app

ROOT = Path(sessions_app.__file__).parent
MAX_LINES = 420  # "about 400"; a module past this is due to be split by concern


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ["sessions_app", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(filter(None, (resolve(a.name) for a in node.names)))
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.update(filter(None, (resolve(f"{node.module}.{a.name}") or resolve(node.module)
                                          for a in node.names)))
        # A package's own modules reach it through its ``__init__`` by design: not a cycle.
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles(_import_graph()) == []


def test_the_cycle_check_sees_lazy_imports():
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


def test_scheduled_sessions_are_split_by_concern():
    # The feature that outgrew one file: each concern its own module, none oversized.
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()
             if ".scheduled" in name}
    assert {"sessions_app.services.scheduled.validation", "sessions_app.services.scheduled.places",
            "sessions_app.state.scheduled.listing", "sessions_app.state.scheduled.form",
            "sessions_app.state.scheduled.detail"} <= set(sizes)
    assert max(sizes.values()) <= MAX_LINES, sizes
