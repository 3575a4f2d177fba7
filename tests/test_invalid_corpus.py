"""The corpus of broken labs: each file in tests/data/invalid/ says what `labrunner validate` must report.

A case declares its problems in header comments, one per line:

    # expect: 12:9 unknown parameter 'KeyID' for aws.kms.describe_key; did you mean 'KeyId'?

`LINE:COLUMN` (or just `LINE`) and a substring of the formatted problem. The test runs the real CLI
(`python -m runner validate`) once over the whole folder and checks, per file: exit status 2, every
expected problem at exactly its position, no problem that is not expected, and no traceback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner.loader import MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
INVALID = Path(__file__).parent / "data" / "invalid"
CASES = sorted(INVALID.glob("*.yaml"))
_EXPECT = re.compile(r"^#\s*expect:\s*(\d+)(?::(\d+))?\s+(.+?)\s*$")


@dataclass(frozen=True)
class Expected:
    line: int
    column: int | None
    text: str

    def matches(self, problem: dict[str, Any]) -> bool:
        return (problem["line"] == self.line and (self.column is None or problem["column"] == self.column)
                and self.text in problem["text"])

    def __str__(self) -> str:
        where = f"{self.line}" if self.column is None else f"{self.line}:{self.column}"
        return f"{where} {self.text}"


def expectations(path: Path) -> list[Expected]:
    # Header comments are ASCII; latin-1 reads every byte, so the non-UTF-8 case parses too.
    found = []
    for raw in path.read_bytes().decode("latin-1").splitlines():
        match = _EXPECT.match(raw)
        if match:
            line, column, text = match.groups()
            found.append(Expected(int(line), int(column) if column else None, text))
    return found


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def corpus_json() -> dict[str, Any]:
    """Every case through the real CLI in one process: `validate --format json` over the folder."""
    result = run_cli("validate", "--format", "json", *CASES)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    return {entry["lab"]: entry for entry in report["labs"]}


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 45
    for case in CASES:
        assert re.match(r"^\d{2,3}-[a-z0-9-]+\.yaml$", case.name), f"{case.name}: name it NN-short-name.yaml"
        assert expectations(case), f"{case.name} declares no '# expect: LINE:COLUMN message' line"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_lab(case: Path, corpus_json: dict[str, Any]) -> None:
    entry = corpus_json[str(case)]
    assert not entry["valid"]
    problems = list(entry["problems"])
    shown = "\n".join(p["text"] for p in problems)
    for expected in expectations(case):
        hits = [p for p in problems if expected.matches(p)]
        assert hits, f"{case.name}: expected problem not reported: {expected}\nreported:\n{shown}"
        problems.remove(hits[0])
    assert not problems, f"{case.name}: unexpected problems:\n" + "\n".join(p["text"] for p in problems)
    for problem in entry["problems"]:
        assert problem["line"] >= 1 and problem["column"] >= 1
        assert problem["text"].startswith(f"{case}:{problem['line']}:{problem['column']}: ")


def test_text_output_of_the_whole_corpus() -> None:
    result = run_cli("validate", *CASES)
    assert result.returncode == 2
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    summary = lines.pop()
    assert re.fullmatch(rf"\d+ problems in {len(CASES)} labs", summary), summary
    for line in lines:
        assert re.match(r"^.+\.yaml:\d+:\d+: (\[[^\]]+\] )?\S", line), line


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    lab = tmp_path / "huge.yaml"
    with lab.open("w") as handle:
        handle.write("lab: huge\ntitle: Huge\nvars:\n")
        handle.write("  filler: '" + "x" * MAX_BYTES + "'\n")
    result = run_cli("validate", lab)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith(f"{lab}:1:1: the file is ")
    assert "over the 4,194,304-byte limit" in result.stdout


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    result = run_cli("validate", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot read the lab" in result.stdout


def test_json_output_shape(corpus_json: dict[str, Any]) -> None:
    valid = sorted((Path(__file__).parent / "data" / "valid").glob("*.yaml"))
    result = run_cli("validate", "--format", "json", valid[0], CASES[0])
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert set(report) == {"valid", "labs"}
    assert report["valid"] is False
    first, second = report["labs"]
    assert first == {"lab": str(valid[0]), "valid": True, "problems": [], "warnings": []}
    assert second["lab"] == str(CASES[0]) and second["valid"] is False
    for problem in second["problems"]:
        assert set(problem) == {"file", "line", "column", "task", "step", "rule", "severity", "message", "hint",
                                "text"}
        assert problem["severity"] == "error"
        assert isinstance(problem["line"], int) and isinstance(problem["column"], int)
        assert problem["rule"] and problem["message"]
    # Every problem in the corpus names a rule, so tools can group them.
    rules = {p["rule"] for entry in corpus_json.values() for p in entry["problems"]}
    assert "invalid" not in rules, "give every problem a specific rule"
