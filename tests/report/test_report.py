"""`labrunner report`: a run or a class as one self-contained, escaped HTML page; bad records exit 2."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from report_helpers import class_record

from runner.commands.main import main
from runner.report import Loaded, is_class, load_record, render, shape_problems

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _save(folder: Path, name: str, record: dict[str, Any]) -> str:
    path = folder / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return str(path)


def _run_record() -> dict[str, Any]:
    record = class_record("ana", "111111111111", ["passed", "failed", "error", "skipped"])
    record["mode"] = "run"
    return record


def test_a_run_shows_every_task_with_its_status_and_the_failure(tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    out: list[str] = []

    class Out:
        def write(self, text: str) -> None:
            out.append(text)

    assert main(["report", _save(tmp_path, "r.json", _run_record()), "--html", str(page)], Out()) == 0  # type: ignore[arg-type]
    assert "".join(out) == f"report: {page} (kms-basics, run)\n"
    html = page.read_text(encoding="utf-8")
    for task_id, status in [("create-key", "passed"), ("create-trail", "failed"), ("encrypt-object", "error"),
                            ("clean-up", "skipped")]:
        assert f'data-task="{task_id}" data-status="{status}"' in html
    assert '<dd class="big" id="score">15 / 100</dd>' in html
    assert "labs/kms.yaml:41:13" in html  # the failed expectation's location
    assert "&#34;Disabled&#34;" in html and "&#34;Enabled&#34;" in html  # actual and expected, as JSON
    assert "AccessDeniedException" in html and "Enable the key." in html


def test_the_page_is_self_contained() -> None:
    html = render([Loaded("r.json", _run_record())])
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_record_values_are_escaped() -> None:
    record = _run_record()
    record["title"] = HOSTILE
    record["tasks"][1]["title"] = HOSTILE
    record["tasks"][1]["summary"] = HOSTILE
    record["tasks"][1]["checks"][0]["assertions"][0]["actual"] = HOSTILE
    record["tasks"][1]["checks"][0]["status"] = '"><b>'
    record["target"]["account"] = HOSTILE
    for html in (render([Loaded("r.json", record)]),
                 render([Loaded("a.json", record), Loaded("b.json", copy.deepcopy(record))])):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "&lt;script&gt;" in html
        assert 'class="badge unknown"' in html  # a status the page does not know never becomes markup


def test_a_class_is_a_grid_of_students_and_tasks(tmp_path: Path) -> None:
    records = [class_record("ana", "111111111111", ["passed"] * 4),
               class_record("ben", "222222222222", ["passed", "failed", "skipped", "skipped"]),
               class_record("cy", "333333333333", ["passed", "passed", "error", "passed"])]
    paths = [_save(tmp_path, f"{i}.json", r) for i, r in enumerate(records)]
    html = render([load_record(p) for p in paths])
    grid = html.split('<table class="grid" id="grid">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", grid, re.S)
    assert len(rows) == 1 + 3 + 1  # header, students, footer
    cells = [re.findall(r'<td class="cell (\w+)"', row) for row in rows[1:4]]
    assert cells == [["passed"] * 4, ["passed", "failed", "skipped", "skipped"],
                     ["passed", "passed", "error", "passed"]]
    assert "100 / 100" in rows[1] and "15 / 100" in rows[2] and "75 / 100" in rows[3]
    assert "3 / 3" in rows[4]  # create-key passed by everyone
    assert html.count('<details class="student"') == 3


def test_what_makes_a_class() -> None:
    one = class_record("ana", "111111111111", ["passed"] * 4)
    run = dict(one, mode="run")
    assert is_class([Loaded("a", one)])  # a grade record
    assert not is_class([Loaded("a", run)])
    assert is_class([Loaded("a", run), Loaded("b", run)])


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    ("{not json", "not JSON (Expecting property name"),
    ("[]", "not a labrunner record: expected a JSON object, got list"),
    ('{"version": 2}', "version is 2, this labrunner reads version 1"),
])
def test_a_bad_record_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None,
                                       message: str) -> None:
    path = tmp_path / "record.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["report", str(path), "--html", str(tmp_path / "out.html")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out.html").exists()


def test_records_of_several_labs_are_a_section_a_lab(tmp_path: Path) -> None:
    other = dict(_run_record(), lab="s3-basics", title="S3 basics")
    paths = [_save(tmp_path, "a.json", _run_record()), _save(tmp_path, "b.json", other),
             _save(tmp_path, "c.json", class_record("ana", "111111111111", ["passed"] * 4))]
    out = io.StringIO()
    assert main(["report", *paths, "--html", str(tmp_path / "out.html")], out) == 0
    assert out.getvalue() == f"report: {tmp_path / 'out.html'} (kms-basics, class of 2; s3-basics, run)\n"
    html = (tmp_path / "out.html").read_text()
    assert "<title>2 labs — labrunner report</title>" in html
    sections = re.findall(r'<section class="lab" id="(lab\d-)lab" data-lab="([\w-]+)">', html)
    assert sections == [("lab1-", "kms-basics"), ("lab2-", "s3-basics")]
    assert 'href="#lab1-lab"' in html and 'href="#lab2-lab"' in html  # the overview links to each
    assert 'id="lab1-grid"' in html and 'id="lab2-score"' in html  # ids stay unique on one page
    assert 'href="#lab1-student-1"' in html and 'id="lab1-student-1"' in html


def test_a_folder_gives_the_records_in_it_as_grade_writes_them(tmp_path: Path) -> None:
    folder = tmp_path / "grade-kms-basics-20260301T120000Z"
    folder.mkdir()
    for name, outcomes in [("ana", ["passed"] * 4), ("ben", ["passed", "failed", "skipped", "skipped"])]:
        _save(folder, f"{name}.json", class_record(name, "111111111111", outcomes))
    (folder / "summary.csv").write_text("name,account\n")
    (folder / "results.json").write_text('{"score": 0, "tests": []}')  # not a record: left out
    out = io.StringIO()
    assert main(["report", str(folder), "--html", str(tmp_path / "class.html")], out) == 0
    assert f"(kms-basics, class of 2)\nnot records, left out: {folder / 'results.json'}\n" in out.getvalue()
    assert (tmp_path / "class.html").read_text().count('<details class="student"') == 2


def test_a_folder_without_records_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path), "--html", str(tmp_path / "out.html")]) == 2
    assert "a folder with no labrunner record in it" in capsys.readouterr().err


def test_control_and_reordering_characters_are_shown_as_escapes() -> None:
    record = _run_record()
    record["tasks"][1]["title"] = "invoice\u202egpj.exe \x1b[2J"
    record["tasks"][1]["checks"][0]["assertions"][0]["actual"] = "tag\u202e"
    html = render([Loaded("r.json", record)])
    assert "\u202e" not in html and "\x1b" not in html
    assert "invoice\\u202egpj.exe \\x1b[2J" in html


def test_shape_problems_name_what_is_missing() -> None:
    record = _run_record()
    del record["tasks"][0]["steps"]
    record["cleanup"] = [{"key": "x"}]
    assert shape_problems(record) == ["tasks[0] lacks one of id, title, status, points, score, steps, checks",
                                      "cleanup[0] lacks one of key, action, section, status"]
    # keys a newer labrunner adds are no problem
    assert shape_problems(dict(_run_record(), student="ana", ledger=[])) == []
