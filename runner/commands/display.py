"""The console a command that runs steps prints with (`run`, `grade`, `cleanup`), as its options ask.

`--color` decides colour by `runner.engine.terminal.wants_colour`; a wait is one live line only where
the output is a terminal; `--quiet` and `--verbose` set the console's level, and `--verbose` also has
every AWS request of the target reported to it (`runner.engine.calls`), and of each target the command
makes later (`watcher`: a grader role's in a student's account). What a run made is linked to
its AWS console page where the target's calls go to AWS itself (`Target.on_aws`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from runner.engine import calls
from runner.engine.console import Console
from runner.engine.redaction import Redactor
from runner.engine.targets import Target
from runner.engine.terminal import LiveLine, Style, columns, is_dumb, is_terminal, wants_colour


def console_for(args: argparse.Namespace, out: TextIO, target: Target, redactor: Redactor,
                kind: Callable[..., Console] = Console, **extra: Any) -> Console:
    """A console of `kind` (a `Console`, or one worded for a grade), with `extra` keyword arguments."""
    live = LiveLine(lambda: columns(out), dumb=is_dumb()) if is_terminal(out) else None
    level = "quiet" if args.quiet else "verbose" if args.verbose else "normal"
    console = kind(out, redactor, style=Style(wants_colour(args.color, out)), live=live, level=level,
                   links=target.on_aws, **extra)
    watch = watcher(console)
    if watch is not None:
        watch(target)
    return console


def watcher(console: Console) -> Callable[[Target], None] | None:
    """What has a target's AWS requests reported to `console`, when it is verbose; else None."""
    if console.level != "verbose":
        return None
    return lambda target: calls.watch(target, console)
