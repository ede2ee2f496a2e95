"""The package's import graph: no circles, nothing importing back up the layers.

Read from the source with ``ast`` (nothing is imported), counting imports inside functions
and under ``TYPE_CHECKING`` too: a deferred import that dodges a circle is still a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "adapters"

# Lowest first. A module may import from its own layer or below, never above. "" is the
# package itself (``adapters/__init__.py``, the lazy public surface).
LAYERS: list[set[str]] = [
    {"enums", "errors", "redact", "inputs"},
    {"capabilities", "models"},
    # console defers its one import of display (--json output) into the function using it.
    {
        "credentials",
        "retry",
        "convert",
        "rules",
        "protocol",
        "replay",
        "ccxt_args",
        "display",
        "console",
    },
    {"venues"},
    {"streams"},
    {"exchange", "lists"},
    {"paper"},
    {"factory"},
    {"cli", "sync", "__main__", ""},
]


def _modules() -> dict[str, Path]:
    """Dotted names below ``adapters`` (a package by its own name; the top one is "")."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _targets(package: list[str], node: ast.ImportFrom) -> list[str]:
    if node.level:
        base = package[: len(package) - (node.level - 1)]
        target = [*base, *(node.module.split(".") if node.module else [])]
    elif node.module and node.module.split(".")[0] == "adapters":
        target = node.module.split(".")[1:]
    else:
        return []
    prefix = ".".join(target)
    # ``from . import streams`` names a module, ``from .models import Order`` a name; the
    # top package itself is loaded before any of its modules, so it is no edge.
    named = [f"{prefix}.{a.name}".lstrip(".") for a in node.names]
    return [prefix, *named] if prefix else named


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        parts = name.split(".") if name else []
        package = parts if path.name == "__init__.py" else parts[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                edges.update(t for t in _targets(package, node) if t in modules)
            elif isinstance(node, ast.Import):
                names = (a.name.removeprefix("adapters.") for a in node.names)
                edges.update(n for n in names if n in modules)
        # A package importing its own submodules (re-exports) points down, not round; the
        # top package re-exports everything lazily and nothing imports it.
        graph[name] = {e for e in edges if e != name and not e.startswith(f"{name}.")}
        if not name:
            graph[name] = set()
    return graph


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for rank, layer in enumerate(LAYERS):
        if top in layer:
            return rank
    raise AssertionError(f"module {module!r} has no layer; add it to LAYERS")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_circle_and_a_deferred_import() -> None:
    graph = _graph()
    # Known edges, one of them (cli -> factory) imported inside a function.
    assert "convert" in graph["streams.feeds"]
    assert "factory" in graph["cli"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_import_graph_has_no_circles() -> None:
    assert _cycles(_graph()) == []


def test_no_import_runs_back_up_the_layers() -> None:
    upward = [
        f"{m} -> {t}"
        for m, targets in sorted(_graph().items())
        for t in sorted(targets)
        if _layer(t) > _layer(m)
    ]
    assert upward == []


def test_every_module_stays_small() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
    }
    # "About 700 lines" (the bound); the engine's matching rules stay in one file.
    assert {n: s for n, s in sizes.items() if s > 750} == {}
