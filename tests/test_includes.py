"""Includes: fragments spliced into a lab's vars and lists of tasks and steps, each value keeping the file
and line it was written at, so that problems and failures point into the fragment."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from runner.loader import load_file
from runner.validate import validate_file

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder / "lab.yaml"


FILES = {
    "shared/names.yaml": """\
        table: Movies
        movies: [Jaws, Alien]
        """,
    "shared/more-names.yaml": """\
        include: shared/names.yaml
        index: title
        """,
    "shared/table.yaml": """\
        - id: make-table
          action: aws.dynamodb.create_table
          params:
            TableName: "{{ table }}"
            AttributeDefinitions: [{AttributeName: "{{ index }}", AttributeType: S}]
            KeySchema: [{AttributeName: "{{ index }}", KeyType: HASH}]
            BillingMode: PAY_PER_REQUEST
        - include: shared/wait.yaml
        """,
    "shared/wait.yaml": """\
        - id: wait-table
          action: aws.dynamodb.describe_table
          params: {TableName: "{{ table }}"}
        """,
    "shared/tasks.yaml": """\
        - id: scan
          title: Scan
          checks:
            - include: shared/scan.yaml
        """,
    "shared/scan.yaml": """\
        - action: aws.dynamodb.scan
          params: {TableName: "{{ table }}"}
        """,
    "lab.yaml": """\
        lab: includes
        title: Includes
        vars:
          prefix: lab
          include: shared/more-names.yaml
          table: Books
        tasks:
          - id: table
            title: Table
            steps:
              - action: aws.sqs.list_queues
              - include: shared/table.yaml
              - id: put
                loop: "{{ movies }}"
                action: aws.dynamodb.put_item
                params: {TableName: "{{ table }}", Item: {title: {S: "{{ item }}"}}}
          - include: shared/tasks.yaml
        """,
}


def test_fragments_are_spliced_in_place_and_keep_their_own_file_and_line(tmp_path: Path) -> None:
    lab, problems = validate_file(write(tmp_path, FILES), "labs/lab.yaml")
    assert not problems, [p.format() for p in problems]
    assert lab is not None
    # vars: the fragment's in the include's place (a nested include first), the lab's own win.
    assert list(lab.vars) == ["prefix", "movies", "index", "table"] and lab.vars["table"] == "Books"
    steps = lab.tasks[0].steps
    assert [s.key for s in steps] == ["table.steps[0]", "make-table", "wait-table", "put"]
    assert [str(s.location) for s in steps] == ["labs/lab.yaml:11:9", "labs/shared/table.yaml:1:3",
                                                 "labs/shared/wait.yaml:1:3", "labs/lab.yaml:13:9"]
    scan = lab.tasks[1]
    assert scan.id == "scan" and str(scan.location) == "labs/shared/tasks.yaml:1:3"
    assert str(scan.checks[0].location) == "labs/shared/scan.yaml:1:3"


def test_an_id_included_twice_is_a_duplicate_that_says_where_the_first_is(tmp_path: Path) -> None:
    files = {**FILES, "shared/scan.yaml": FILES["shared/wait.yaml"]}
    _, problems = validate_file(write(tmp_path, files), "labs/lab.yaml")
    assert [p.format() for p in problems] == [
        "labs/shared/scan.yaml:1:7: [task 'scan' step 'wait-table'] duplicate step id 'wait-table' (first at "
        "labs/shared/wait.yaml line 1); step ids are unique in the lab; rename one"]


def test_a_problem_inside_a_fragment_is_reported_in_the_fragment(tmp_path: Path) -> None:
    files = {**FILES, "shared/wait.yaml": FILES["shared/wait.yaml"].replace("TableName", "TableNme")}
    _, problems = validate_file(write(tmp_path, files), "labs/lab.yaml")
    shown = sorted({p.format() for p in problems})
    assert any(line.startswith("labs/shared/wait.yaml:3:12: ") and "unknown parameter 'TableNme' for "
               "aws.dynamodb.describe_table; did you mean 'TableName'?" in line for line in shown), shown
    assert all(p.file == "labs/shared/wait.yaml" for p in problems)


@pytest.mark.parametrize(("change", "wanted"), [
    ({"shared/scan.yaml": "- include: shared/scan.yaml\n"},
     "labs/shared/scan.yaml:1:12: include 'shared/scan.yaml' includes itself"),
    ({"shared/names.yaml": "- Movies\n"},
     "labs/shared/names.yaml:1:1: labs/shared/names.yaml is included as a mapping of vars (name: value), but it "
     "holds a list"),
    ({"shared/wait.yaml": "action: aws.sqs.list_queues\n"},
     "labs/shared/wait.yaml:1:1: labs/shared/wait.yaml is included as a list of steps, but it holds a mapping; "
     "a step or task alone is written as a list of one"),
    ({"shared/wait.yaml": "- action: [\n"}, "labs/shared/wait.yaml:2:1: YAML syntax error"),
])
def test_what_cannot_be_included_is_refused_where_it_is(tmp_path: Path, change: dict[str, str], wanted: str) -> None:
    _, problems = validate_file(write(tmp_path, {**FILES, **change}), "labs/lab.yaml")
    assert any(p.format().startswith(wanted) for p in problems), [p.format() for p in problems]


def test_the_editor_schemas_accept_labs_with_includes_and_their_fragments(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    lab_schema = json.loads((SCHEMAS / "lab.schema.json").read_text())
    fragment_schema = json.loads((SCHEMAS / "fragment.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(fragment_schema)
    assert not list(jsonschema.Draft202012Validator(lab_schema).iter_errors(load_file(str(tmp_path / "lab.yaml")).data))
    for name in [n for n in FILES if n.startswith("shared/")]:
        data = load_file(str(tmp_path / name)).data
        assert not list(jsonschema.Draft202012Validator(fragment_schema).iter_errors(data)), name
    bad_step = [{"action": "aws.sqs.list_queues", "parms": {}}]
    assert list(jsonschema.Draft202012Validator(fragment_schema).iter_errors(bad_step))


def test_the_committed_fragment_schema_is_current() -> None:
    from runner.schema import render_json

    assert (SCHEMAS / "fragment.schema.json").read_text() == render_json(fragment_schema=True), (
        "schemas/fragment.schema.json is stale: run `labrunner schema --fragment > schemas/fragment.schema.json`")
