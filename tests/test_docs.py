"""Every YAML example in docs/authoring.md and docs/grading.md is a lab, a step, or a mistake, and behaves
as the guide says.

- a block starting with `lab:` or the schema modeline is a lab: it must validate;
- a block starting with `# invalid: MESSAGE` is a lab with a mistake: it must fail with MESSAGE;
- a block starting with `action:` is a step: wrapped into a small lab (a check when its action is
  read-only, else a step), it must validate;
- any other block (a bare `expect:` or `retry:` fragment) is skipped, and counted.
The example of alternatives and mistakes also passes `labrunner verify`, on the emulator.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from runner import registry
from runner.emulator import Emulator
from runner.engine.targets import Target
from runner.loader import load_text
from runner.validate import load_lab, validate_text
from runner.verify.accounts import Accounts
from runner.verify.case_run import Settings
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
    if first.startswith(("lab:", "# yaml-language-server")):
        return "lab"
    if first.startswith("action:"):
        return "step"
    return "fragment"


BLOCKS = blocks()


def test_the_guide_has_examples_of_every_kind() -> None:
    kinds = [kind(b) for _, b in BLOCKS]
    assert kinds.count("lab") >= 4 and kinds.count("step") >= 6 and kinds.count("invalid") >= 3


@pytest.mark.parametrize(("line", "block"), BLOCKS, ids=[line for line, _ in BLOCKS])
def test_example(line: str, block: str) -> None:
    what = kind(block)
    if what == "fragment":
        pytest.skip("a fragment of a step")
    lab_dir = ROOT / "tests" / "data" / "valid"  # holds files/hello.txt, which the guide uploads
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
    verdict = verify(load_lab(tmp_path / "lab.yaml"), Accounts(Target.for_emulator(emulator, "us-east-1")),
                     Settings())
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
