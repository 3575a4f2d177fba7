"""Every YAML example in docs/authoring.md and docs/grading.md is a lab, a step, or a mistake, and behaves
as the guide says.

- a block starting with `lab:` or the schema modeline is a lab: it must validate;
- a block starting with `# invalid: MESSAGE` is a lab with a mistake: it must fail with MESSAGE;
- a block starting with `action:` is a step: wrapped into a small lab (a check when its action is
  read-only, else a step), it must validate;
- a block starting with `# file: PATH` is a fragment file that the guide's labs `include`: it is written
  beside every lab example before that lab is validated;
- any other block (a bare `expect:` or `retry:` fragment) is skipped, and counted.
The example of alternatives and mistakes also passes `labrunner verify`, and the examples of the
language's loops, JSON inside a string and includes run green, on the emulator.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from runner import registry
from runner.commands.main import main
from runner.emulator import Emulator
from runner.engine.targets import Target
from runner.loader import load_text
from runner.validate import load_lab, validate_text
from runner.verify.case_run import Settings
from runner.verify.pools import Threads
from runner.verify.verifier import verify

ROOT = Path(__file__).resolve().parent.parent
GUIDES = (ROOT / "docs" / "authoring.md", ROOT / "docs" / "grading.md")
# A block may be indented, inside a list item: its lines are read without the indent.
BLOCK = re.compile(r"^([ \t]*)```yaml\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
# Names the guide's step fragments use, as a lab would define them.
FRAGMENT_VARS = {"alias": "myFirstKey", "bucket": "my-bucket", "key_id": "1234abcd", "days": 7}


def blocks() -> list[tuple[str, str]]:
    found = []
    for guide in GUIDES:
        text = guide.read_text()
        found += [(f"{guide.stem}-{text.count(chr(10), 0, m.start()) + 2}", textwrap.dedent(m.group(2)))
                  for m in BLOCK.finditer(text)]
    return found


def kind(block: str) -> str:
    first = block.lstrip().splitlines()[0]
    if first.startswith("# invalid:"):
        return "invalid"
    if first.startswith("# file:"):
        return "file"
    if first.startswith(("lab:", "# yaml-language-server")):
        return "lab"
    if first.startswith("action:"):
        return "step"
    return "fragment"


BLOCKS = blocks()


def lab_folder(tmp_path: Path) -> Path:
    """A folder for the guide's labs: files/hello.txt, which the guide uploads, and the guide's fragment files."""
    shutil.copytree(ROOT / "tests" / "data" / "valid" / "files", tmp_path / "files")
    for _, block in BLOCKS:
        if kind(block) == "file":
            name = block.splitlines()[0].split(":", 1)[1].strip()
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(block)
    return tmp_path


def test_the_guide_has_examples_of_every_kind() -> None:
    kinds = [kind(b) for _, b in BLOCKS]
    assert kinds.count("lab") >= 4 and kinds.count("step") >= 6 and kinds.count("invalid") >= 3


@pytest.mark.parametrize(("line", "block"), BLOCKS, ids=[line for line, _ in BLOCKS])
def test_example(line: str, block: str, tmp_path: Path) -> None:
    what = kind(block)
    if what == "fragment":
        pytest.skip("a fragment of a step")
    if what == "file":
        pytest.skip("a fragment file: validated with the labs that include it")
    lab_dir = lab_folder(tmp_path)
    if what == "step":
        step = load_text(block, "step").data  # YAML 1.2, as labs are read: `on:` stays a key
        section = "checks" if registry.resolve(step["action"]).read_only else "steps"
        lab = {"lab": "doc-example", "title": "Example", "vars": FRAGMENT_VARS,
               "tasks": [{"id": "t", "title": "Example", section: [step]}]}
        text = yaml.safe_dump(lab, sort_keys=False)
    else:
        text = block
    _, problems = validate_text(text, f"{line}.md", lab_dir)
    shown = "\n".join(p.format() for p in problems)
    if what == "invalid":
        wanted = block.splitlines()[0].split(":", 1)[1].strip()
        assert any(wanted in p.message for p in problems), f"expected '{wanted}', got:\n{shown}"
    else:
        assert not problems, shown


def test_the_guide_s_example_of_alternatives_and_mistakes_passes_verify(tmp_path: Path, emulator: Emulator) -> None:
    """The example a lab author copies is a grader that holds: labrunner verify finds nothing wrong."""
    block = next(b for _, b in BLOCKS if b.startswith("lab: public-image"))
    (tmp_path / "files").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "valid" / "files" / "hello.txt", tmp_path / "files" / "hello.txt")
    (tmp_path / "lab.yaml").write_text(block)
    lab = load_lab(tmp_path / "lab.yaml")
    verdict = verify(lab, Threads(Target.for_emulator(emulator, "us-east-1"), [(lab, "us-east-1")], Settings(), 4))
    assert verdict.passed, [f"{c.row}, {c.task.id}: {c.reason}" for c in verdict.disagreements]
    assert {case.kind for case in verdict.cases} == {"untouched", "reference", "leave-out", "alternative", "mistake"}


def test_the_grading_guide_lists_every_bound_on_reading_student_data_with_its_value() -> None:
    from runner.actions import bounds

    guide = (ROOT / "docs" / "grading.md").read_text()
    section = guide.split("## Reading student data safely", 1)[1].split("\n## ", 1)[0]
    for name, value in vars(bounds).items():
        if not name.startswith("MAX_"):
            continue
        shown = bounds.size_text(value) if name.endswith("_BYTES") else f"{value:,}"
        assert f"`{name}`" in section, f"docs/grading.md does not list {name}"
        assert shown in section, f"docs/grading.md does not give {name}'s value ({shown})"


def test_the_guide_states_the_default_region_the_code_uses() -> None:
    from runner.regions import DEFAULT_REGION

    row = next(line for line in GUIDES[0].read_text().splitlines() if line.startswith("| `region` |"))
    assert row.endswith(f"without either, `{DEFAULT_REGION}` |")


#: The guide's examples of the language's additions, each run on the emulator as the guide shows it.
RUN = ("lab: loop-demo", "lab: fan-out-demo", "lab: include-demo")


@pytest.mark.parametrize("start", RUN)
def test_the_guide_s_example_runs_green(start: str, tmp_path: Path, emulator: Emulator) -> None:
    block = next(b for _, b in BLOCKS if b.startswith(start))
    lab = lab_folder(tmp_path) / "lab.yaml"
    lab.write_text(block)
    out = io.StringIO()
    code = main(["run", str(lab), "--target", emulator.endpoint, "--record", str(tmp_path / "run.json")], out=out)
    assert code == 0, out.getvalue()
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "passed" and all(step["status"] == "passed" for step in record["cleanup"])
    if start == "lab: loop-demo":
        task = record["tasks"][0]
        assert [s["id"] for s in task["checks"]] == ["movie[0]", "movie[1]", "movie[2]"]
        assert task["checks"][0]["title"] == "Jaws is in the table"
    if start == "lab: fan-out-demo":
        assert record["tasks"][0]["steps"][-1]["title"] == "Delete order 1001 from the queue"


def test_the_guides_point_only_at_files_users_have() -> None:
    # Issue 15: the guide sent authors to a LAB-FORMAT.md that ships to nobody.
    for guide in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = guide.read_text()
        assert "LAB-FORMAT" not in text and "/work/shared" not in text, guide.name
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert (guide.parent / target).exists(), f"{guide.name} links to {target}, which does not exist"
