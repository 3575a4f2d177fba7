"""GitHub Actions: a failing step as an `::error` annotation on its YAML line, escaped as GitHub's
workflow commands require, and the run's Markdown summary appended to GITHUB_STEP_SUMMARY."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from engine_helpers import SECRET, make_record, redactor_for
from hypothesis import given
from hypothesis import strategies as st
from testkit import github_reads_a_command

from runner.engine import github
from runner.engine.record_json import to_json
from runner.safe_text import escape_controls
from runner.workflow_commands import Annotation, append_summary, inert


def test_properties_and_messages_are_escaped_as_workflow_commands_require() -> None:
    command = Annotation("labs/a,b:c.yaml", 14, "step 'x' failed: 100%", "line one\nline two 50%\r\x1b[2J", 9).command()
    assert command == ("::error file=labs/a%2Cb%3Ac.yaml,line=14,col=9,title=step 'x' failed%3A 100%25"
                       "::line one%0Aline two 50%25\\x0d\\x1b[2J")
    assert "\n" not in command and "\r" not in command  # one line: nothing after it can be read as a command


ON_GITHUB = {"GITHUB_ACTIONS": "true"}


def test_text_an_account_wrote_is_no_workflow_command_on_github() -> None:
    key = "notes\n::error title=owned::a student's annotation\n  ::add-mask::x\n##[stop-commands]t #\u00ad#[error]"
    shown = inert(escape_controls(key), ON_GITHUB)
    assert shown == ("notes\n\\x3a:error title=owned::a student's annotation\n  \\x3a:add-mask::x\n"
                     "\\x23#[stop-commands]t \\x23\u00ad#[error]")
    assert not any(github_reads_a_command(line) for line in shown.splitlines())
    assert inert(escape_controls(key), {}) == escape_controls(key)  # elsewhere, the text as it is
    assert inert("a: b::c # [d] ## e", ON_GITHUB) == "a: b::c # [d] ## e"


@given(st.lists(st.sampled_from([":", "#", "[", " ", "\n", "\u00ad", "\u200b", "\u3000", "x", "\\"]), max_size=24)
       .map("".join) | st.text())
def test_no_text_is_a_workflow_command_once_inert(text: str) -> None:
    shown = inert(escape_controls(text), ON_GITHUB)
    assert not any(github_reads_a_command(line) for line in shown.split("\n"))


def test_a_failed_step_is_an_error_on_its_yaml_line() -> None:
    record = make_record()
    annotations = github.record_annotations(to_json(record, redactor_for(record)), {})
    assert len(annotations) == 1
    annotation = annotations[0]
    assert (annotation.file, annotation.line, annotation.col) == ("lab.yaml", 9, 7)
    assert annotation.title == "step 'use' (aws.s3.list_buckets) failed"
    assert "Owner.ID equals: expected" in annotation.message and "3 attempts, 4s waiting" in annotation.message
    assert SECRET not in annotation.command() and "hint!" in annotation.message


def test_a_path_inside_the_workspace_is_made_relative() -> None:
    record = make_record()
    task = record.tasks[0]
    steps = tuple(dataclasses.replace(s, location=f"/home/runner/work/repo/{s.location}") for s in task.steps)
    record = dataclasses.replace(record, tasks=(dataclasses.replace(task, steps=steps),))
    env = {"GITHUB_WORKSPACE": "/home/runner/work/repo"}
    assert github.record_annotations(to_json(record), env)[0].file == "lab.yaml"


def test_the_summary_is_a_table_of_tasks_and_what_failed(tmp_path: Path) -> None:
    record = make_record()
    record = dataclasses.replace(record, tasks=(dataclasses.replace(record.tasks[0], title="T | <b>bold</b>"),))
    text = github.summary(to_json(record))
    assert text.startswith("### ❌ Demo: failed, 0/2 points\n")
    assert "| ❌ | T \\| \\<b\\>bold\\</b\\> (t) | failed | 0/2 |" in text
    assert "- `lab.yaml:9` step 'use' \\(aws\\.s3\\.list\\_buckets\\) failed:" in text  # code is not escaped
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n")
    append_summary(text, {"GITHUB_STEP_SUMMARY": str(path)})
    assert path.read_text() == "earlier step\n" + text + "\n"  # appended, as GitHub expects


def test_publish_does_nothing_off_github(tmp_path: Path) -> None:
    import io

    out = io.StringIO()
    github.publish(make_record(), None, out, {"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")})
    assert out.getvalue() == "" and not (tmp_path / "s.md").exists()
    github.publish(make_record(), None, out, {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")})
    assert out.getvalue().startswith("::error file=lab.yaml,line=9,col=7,") and (tmp_path / "s.md").is_file()
