"""Includes: YAML fragments, in files beside a lab, spliced into its vars and its lists of tasks and steps.

    vars:
      include: shared/names.yaml         # a mapping of vars, merged here (the lab's own vars win)
    tasks:
      - include: shared/tasks.yaml       # a list of tasks, spliced in place
      - id: items
        title: Put the items
        steps:
          - include: shared/table.yaml   # a list of steps, spliced in place

Between loading (`loader`) and validating (`runner.validate`), which then sees the lab as if it were one
file. A fragment may include fragments too; every path is relative to the lab's folder, as every file a
lab names is, and may not leave it. What is included keeps where it was written: the `Document` says
which file each included value came from (`Document.sources`), so a problem inside a fragment is
reported at the fragment's own file, line and column, and a step that fails at run time points there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from runner.errors import LabError, Problem
from runner.loader import Document, load_file
from runner.loader import Path as YamlPath
from runner.value_checks import file_problem

KEY = "include"
#: How deep fragments may include fragments.
MAX_DEPTH = 8
#: A task's lists of steps; `alternatives` and `mistakes` map names to lists of steps.
STEP_LISTS = ("steps", "checks", "evidence", "advice")
ROUTES = ("alternatives", "mistakes")
_WHAT = {"vars": "a mapping of vars (name: value)", "tasks": "a list of tasks", "steps": "a list of steps"}

T = TypeVar("T")


@dataclass
class _Expansion:
    """One lab's includes being spliced: its folder, how its path is shown, what went wrong."""

    lab_dir: Path
    shown_dir: str
    problems: list[Problem] = field(default_factory=list)

    def fail(self, doc: Document, path: YamlPath, message: str, hint: str) -> None:
        mark = doc.mark(path)
        self.problems.append(Problem(doc.file_of(path), mark.line, mark.column, message, hint, rule="include"))


def expand(doc: Document, lab_dir: Path) -> Document:
    """`doc` with every include spliced in; raises `LabError` with every include that cannot be."""
    if not _has_includes(doc.data):
        return doc  # nearly every lab: nothing is copied
    expansion = _Expansion(lab_dir, os.path.dirname(doc.path))
    data = doc.data
    if isinstance(data.get("vars"), dict):
        doc = _vars(doc, ("vars",), expansion, ())
    if isinstance(data.get("tasks"), list):
        doc = _list(doc, ("tasks",), "tasks", expansion, ())
    if isinstance(data.get("cleanup"), list):
        doc = _list(doc, ("cleanup",), "steps", expansion, ())
    if expansion.problems:
        lab = doc.path  # the lab's own problems first, then each fragment's, each by position
        raise LabError(sorted(expansion.problems, key=lambda p: (p.file != lab, p.file, p.line, p.column)))
    return doc


def _has_includes(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("vars"), dict) and KEY in data["vars"]:
        return True
    tasks: list[Any] = data["tasks"] if isinstance(data.get("tasks"), list) else []
    lists = [tasks, data.get("cleanup")]
    for task in tasks:
        if isinstance(task, dict):
            lists += [task.get(name) for name in STEP_LISTS]
            lists += [steps for kind in ROUTES if isinstance(task.get(kind), dict) for steps in task[kind].values()]
    return any(isinstance(items, list) and any(_is_include(item) for item in items) for items in lists)


def _is_include(item: Any) -> bool:
    return isinstance(item, dict) and KEY in item


def _at(data: Any, path: YamlPath) -> Any:
    for part in path:
        data = data[part]
    return data


# ---- what each place may include


def _list(doc: Document, path: YamlPath, kind: str, expansion: _Expansion, chain: tuple[str, ...]) -> Document:
    """The list at `path` with each `- include: FILE` replaced by the fragment's items (`kind`: tasks or steps);
    then, in a list of tasks, each task's lists of steps."""
    items = _at(doc.data, path)
    if any(_is_include(item) for item in items):
        spliced: list[Any] = []
        moves: dict[int, int] = {}
        grafts: list[tuple[Document, int]] = []
        for old, item in enumerate(items):
            if not _is_include(item):
                moves[old] = len(spliced)
                spliced.append(item)
                continue
            fragment = _fragment(doc, (*path, old), kind, expansion, chain)
            if fragment is not None:
                grafts.append((fragment, len(spliced)))
                spliced.extend(fragment.data)
        doc = _replaced(doc, path, spliced, lambda rest: (moves[rest[0]], *rest[1:]) if rest[0] in moves else None)
        for fragment, start in grafts:
            for index in range(len(fragment.data)):
                doc = _grafted(doc, (*path, start + index), fragment, (index,))
    if kind == "tasks":
        for index, task in enumerate(_at(doc.data, path)):
            if not isinstance(task, dict):
                continue
            for name in STEP_LISTS:
                if isinstance(task.get(name), list):
                    doc = _list(doc, (*path, index, name), "steps", expansion, chain)
            for route_kind in ROUTES:
                routes = task.get(route_kind)
                if not isinstance(routes, dict):
                    continue
                for name in list(routes):
                    if isinstance(routes[name], list):
                        doc = _list(doc, (*path, index, route_kind, name), "steps", expansion, chain)
    return doc


def _vars(doc: Document, path: YamlPath, expansion: _Expansion, chain: tuple[str, ...]) -> Document:
    """The vars at `path` with `include: FILE` (or a list of files) replaced, in its place, by the fragments'
    vars; a var the lab names itself wins, as an explicit key wins over a YAML merge key."""
    own: dict[str, Any] = _at(doc.data, path)
    if KEY not in own:
        return doc
    named = own[KEY]
    merged: dict[str, Any] = {}
    grafts: list[tuple[Document, str]] = []
    for name, value in own.items():
        if name != KEY:
            merged[name] = value
            continue
        for index in range(len(named)) if isinstance(named, list) else [None]:
            where = (*path, KEY) if index is None else (*path, KEY, index)
            fragment = _fragment(doc, where, "vars", expansion, chain)
            if fragment is None:
                continue
            for included in fragment.data:
                if included not in own and included not in merged:
                    merged[included] = fragment.data[included]
                    grafts.append((fragment, included))
    doc = _replaced(doc, path, merged, lambda rest: None if rest[0] == KEY else rest)
    for fragment, name in grafts:
        doc = _grafted(doc, (*path, name), fragment, (name,))
    return doc


def _fragment(doc: Document, where: YamlPath, kind: str, expansion: _Expansion,
              chain: tuple[str, ...]) -> Document | None:
    """The fragment an include names, loaded, its own includes spliced; None (and a problem) if it cannot be."""
    entry = _at(doc.data, where)
    relative = entry.get(KEY) if isinstance(entry, dict) else entry
    at = (*where, KEY) if isinstance(entry, dict) else where
    if isinstance(entry, dict) and len(entry) > 1:
        others = ", ".join(sorted(str(k) for k in entry if k != KEY))
        expansion.fail(doc, where, f"an include entry holds only 'include', not {others}",
                       "move the other keys into the fragment, or into an entry of their own")
        return None
    if not isinstance(relative, str) or not relative:
        expansion.fail(doc, at, "include names a YAML file beside the lab",
                       "write include: path/to/fragment.yaml (relative to the lab's folder)")
        return None
    problem = file_problem(expansion.lab_dir, relative)
    if problem is not None:
        expansion.fail(doc, at, f"include: {problem[0]}", problem[1])
        return None
    target = str((expansion.lab_dir / relative).resolve())
    if target in chain or len(chain) >= MAX_DEPTH:
        expansion.fail(doc, at, f"include '{relative}' includes itself" if target in chain
                       else f"includes nest deeper than {MAX_DEPTH} files", "remove the include that goes round")
        return None
    shown = os.path.normpath(os.path.join(expansion.shown_dir, relative))
    try:
        fragment = load_file(target, shown)
    except LabError as exc:
        expansion.problems.extend(exc.problems)
        return None
    wanted = dict if kind == "vars" else list
    if not isinstance(fragment.data, wanted) or not fragment.data:
        held = "nothing" if not fragment.data else "a mapping" if isinstance(fragment.data, dict) else (
            "a list" if isinstance(fragment.data, list) else "a single value")
        expansion.fail(fragment, (), f"{shown} is included as {_WHAT[kind]}, but it holds {held}",
                       "a step or task alone is written as a list of one ('- action: ...')" if kind != "vars"
                       else "write one 'name: value' line per var")
        return None
    inner = (*chain, target)
    return _vars(fragment, (), expansion, inner) if kind == "vars" else _list(fragment, (), kind, expansion, inner)


# ---- the document's data and positions, moved together


def _replaced(doc: Document, path: YamlPath, value: Any, move: Callable[[YamlPath], YamlPath | None]) -> Document:
    """`doc` with the value at `path` replaced, and every position under it moved by `move` (of the path
    below `path`; None drops it). Containers on the way are copied: YAML aliases may share them."""

    def moved(table: dict[YamlPath, T]) -> dict[YamlPath, T]:
        size = len(path)
        result: dict[YamlPath, T] = {}
        for where, item in table.items():
            if len(where) > size and where[:size] == path:
                rest = move(where[size:])
                if rest is not None:
                    result[(*path, *rest)] = item
            else:
                result[where] = item
        return result

    blocks = {where: True for where in doc.literal_blocks}
    return replace(doc, data=_set(doc.data, path, value), marks=moved(doc.marks), key_marks=moved(doc.key_marks),
                   literal_blocks=frozenset(moved(blocks)), sources=moved(doc.sources))


def _grafted(doc: Document, at: YamlPath, fragment: Document, root: YamlPath) -> Document:
    """`doc` with the positions of the fragment's value at `root` added at `at`, and its file recorded there."""
    size = len(root)

    def under(table: dict[YamlPath, T]) -> dict[YamlPath, T]:
        return {(*at, *where[size:]): item for where, item in table.items() if where[:size] == root}

    blocks = {where: True for where in fragment.literal_blocks}
    return replace(doc, marks={**doc.marks, **under(fragment.marks)},
                   key_marks={**doc.key_marks, **under(fragment.key_marks)},
                   literal_blocks=doc.literal_blocks | frozenset(under(blocks)),
                   sources={**doc.sources, at: fragment.file_of(root), **under(fragment.sources)})


def _set(data: Any, path: YamlPath, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = list(data) if isinstance(data, list) else dict(data)
    copy[head] = _set(data[head], rest, value)
    return copy
