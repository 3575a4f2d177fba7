"""The checks of a lab's values that the validator and the engine share: files and JMESPath."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner.value_checks import file_problem, jmespath_problem


def why(lab_dir: Path, relative: str) -> str | None:
    problem = file_problem(lab_dir, relative)
    return problem[0] if problem else None


def test_file_problem(tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("x")
    assert why(tmp_path, "inside.txt") is None
    assert why(tmp_path, "./sub/../inside.txt") is None
    assert why(tmp_path, "../inside.txt") == "file '../inside.txt' is outside the lab's folder"
    assert why(tmp_path, "/etc/hostname") == "file '/etc/hostname' is an absolute path"
    assert why(tmp_path, "missing.txt") == "file 'missing.txt' does not exist"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_a_symlink_out_of_the_folder_is_outside(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    lab_dir.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    (lab_dir / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert why(lab_dir, "link.txt") == "file 'link.txt' is outside the lab's folder"


def test_jmespath_problem() -> None:
    assert jmespath_problem("KeyMetadata.KeyId") is None
    assert jmespath_problem("length(Keys[?KeyState=='Enabled'])") is None
    message = jmespath_problem("Keys[")
    assert message is not None and message.startswith("'Keys[' does not compile")
