"""The package's shape, read from its source: imports run one way, and modules stay small.

The import graph is built with `ast` from runner/'s files, not by importing them, so a circle that
lazy imports inside functions would hide at start-up still shows: every `import` and `from ... import`
anywhere in a module counts. Importing a submodule runs its package's `__init__` first, but that is
Python's doing, not a dependency the code chose, so it is not an edge here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "runner"
#: Programs with a command line of their own: `labrunner`, and the autograder Gradescope runs
#: (`python -m runner.autograder`), which reads the same options as `labrunner grade`.
COMMAND_LINES = ("runner.commands", "runner.autograder")
#: Past this, a module must say in its docstring why it is one piece.
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The runner modules that `name` (at `path`) imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                if f"{base}.{alias.name}" in known:  # `from runner.engine import loop`: a submodule
                    yield f"{base}.{alias.name}"
                elif base in known:
                    yield base


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imported(name, path, known)) - {name} for name, path in found.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan's algorithm), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_finds_a_circle_when_there_is_one() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_relative_and_submodule_imports_are_edges() -> None:
    graph = import_graph()
    assert "runner.engine.assertions" in graph["runner.engine.steps"]  # `from runner.engine import assertions`
    assert "runner.errors" in graph["runner.loader"]


def test_runner_has_no_import_circle() -> None:
    found = circles(import_graph())
    assert found == [], "import circles in runner/ (each must become one-way):\n" + "\n".join(
        " <-> ".join(circle) for circle in found)


def test_no_module_is_long_without_saying_why_it_is_one_piece() -> None:
    long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_LINES and "one piece" not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{name}: {text.count(chr(10))} lines")
    assert long == [], f"modules over {MAX_LINES} lines whose docstring does not say why they are one piece: {long}"


def test_the_engine_and_grading_are_libraries() -> None:
    """No argparse below the command line, and nothing below it imports the command line."""
    graph = import_graph()
    for name, path in modules().items():
        if name.startswith(COMMAND_LINES) or name == "runner.__main__":
            continue
        assert "argparse" not in path.read_text(encoding="utf-8"), f"{name} uses argparse"
        assert not {dep for dep in graph[name] if dep.startswith("runner.commands")}, f"{name} imports the commands"
