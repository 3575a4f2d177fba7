"""The console a command that runs steps prints with (`run`, `grade`, `cleanup`, `verify`), as its options ask.

`--color` decides colour by `runner.engine.terminal.wants_colour`; a wait is one live line only where
the output is a terminal; `--quiet` and `--verbose` set the console's level, and `--verbose` also has
every AWS request of the target reported to it (`runner.engine.calls`), and of each target the command
makes later in a student's account (`watcher`: one account's as they are; each of a class's marked
with its account). What a run made is linked to
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


def console_for(args: argparse.Namespace, out: TextIO, target: Target | None, redactor: Redactor,
                kind: Callable[..., Console] = Console, **extra: Any) -> Console:
    """A console of `kind` (a `Console`, or one worded for a grade), with `extra` keyword arguments;
    `target` None: the command's requests go through targets it makes later (verify's cases)."""
    live = LiveLine(lambda: columns(out), dumb=is_dumb()) if is_terminal(out) else None
    level = "quiet" if args.quiet else "verbose" if args.verbose else "normal"
    console = kind(out, redactor, style=Style(wants_colour(args.color, out)), live=live, level=level,
                   links=target is not None and target.on_aws, **extra)
    if level == "verbose" and target is not None:
        calls.watch(target, console)
    return console


def watcher(console: Console, *, marked: bool = False) -> Callable[[Target, str], None] | None:
    """What has the AWS requests of a target in an account reported to `console` when it is verbose
    (`marked`: with the account, for a class), else None."""
    if console.level != "verbose":
        return None
    if marked:
        return lambda target, account: calls.watch(target, calls.InAccount(console, account))
    return lambda target, _: calls.watch(target, console)
