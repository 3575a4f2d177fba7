"""The real AWS CLI (v1), run inside the test process against an emulator (no interpreter start-up per
command): how the emulator and grading tests drive it as a user would.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str

    def error_code(self) -> str:
        """The AWS error code the CLI printed: `An error occurred (CODE) when calling ...`."""
        return self.stderr.split("An error occurred (", 1)[-1].split(")", 1)[0] if self.code else ""


def run_in_process(env: Mapping[str, str], args: list[str]) -> Done:
    """`aws ARGS` with exactly `env` as its environment (the test process's is put back after)."""
    import awscli.clidriver  # noqa: F401  importing it sets AWS_DATA_PATH, which every call keeps

    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(env)
        # Importing awscli points botocore at the CLI's own data (AWS_DATA_PATH): keep that.
        os.environ.update({k: v for k, v in saved.items() if k == "AWS_DATA_PATH"})
        driver = _driver(tuple(sorted(os.environ.items())))
        # No debug records: the CLI logs the file objects it opens for `--body`, and pytest's log
        # capture would keep them, open, until the test's teardown warns of them.
        logging.disable(logging.DEBUG)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = driver.main(args)
    finally:
        logging.disable(logging.NOTSET)
        os.environ.clear()
        os.environ.update(saved)
    return Done(int(code or 0), out.getvalue(), err.getvalue())


@functools.lru_cache(maxsize=8)
def _driver(environment: tuple[tuple[str, str], ...]) -> Any:
    """One CLI driver for each environment: making one loads the CLI's command tables (most of a
    command's time), and a driver reads its configuration from the environment it was made in."""
    from awscli.clidriver import create_clidriver

    return create_clidriver()


class AwsCli:
    """The AWS CLI pointed at an emulator by its `environment()`, with the given credentials instead."""

    def __init__(self, emulator_env: Mapping[str, str], home: Path, **credentials: str) -> None:
        # Only the emulator's variables: no profile, config or credentials of the machine leak in.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(emulator_env)
        self.env.update({f"AWS_{k.upper()}": v for k, v in credentials.items()})
        self.env["AWS_CONFIG_FILE"] = str(home / "config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = str(home / "credentials")

    def run(self, *args: str) -> Done:
        return run_in_process(self.env, [*args, "--output", "json"])

    def ok(self, *args: str) -> Any:
        done = self.run(*args)
        assert done.code == 0, f"aws {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    def fails(self, *args: str) -> str:
        """The error code of a command that must fail."""
        done = self.run(*args)
        assert done.code != 0, f"aws {' '.join(args)} succeeded: {done.stdout}"
        return done.error_code()
