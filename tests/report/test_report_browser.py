"""The HTML report in a real browser: headless Chromium parses the page and photographs it.

Chromium comes from the system packages (`.ci/run` installs it). Without it these tests are skipped
on a workstation, and fail in CI (`CI` set), where the report must be checked.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path

import pytest
from make_screenshots import CLASS, browse, chromium, class_report, run_report


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must check the HTML report in a browser: "
                        "apt-get install chromium")
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it and runs these tests")
    return found


def _png(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed pixel rows of a PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def _assert_screenshot(path: Path) -> None:
    width, height, pixels = _png(path)
    assert (width, height) == (1280, 900)
    # A blank or error page is one or two colours; the report has text, badges and coloured cells.
    assert len(set(pixels)) > 50
    assert len(set(pixels[: len(pixels) // 2])) > 50  # the top half is not empty either


def test_a_run_report_in_chromium(browser: str, tmp_path: Path) -> None:
    page, record = run_report(tmp_path)
    dom = browse(browser, page)
    assert "<title>Create a tagged S3 bucket — failed 10/40</title>" in dom
    for task_id, status in [("create-bucket", "passed"), ("tag-bucket", "failed"), ("versioning", "skipped")]:
        assert f'data-task="{task_id}" data-status="{status}"' in dom
    assert '<dd class="big" id="score">10 / 40</dd>' in dom
    assert record["score"] == 10 and record["points"] == 40
    # the failure: where, expected versus actual, the hint
    assert "labs/s3-tagged-bucket.yaml:38:13" in dom
    assert '<code class="expected">"finance"</code>' in dom
    assert '<code class="actual">"marketing"</code>' in dom
    assert "Hint: Tag the bucket with team=finance." in dom
    screenshot = tmp_path / "run.png"
    browse(browser, page, screenshot=screenshot)
    _assert_screenshot(screenshot)


def test_a_class_report_in_chromium(browser: str, tmp_path: Path) -> None:
    page = class_report(tmp_path)
    dom = browse(browser, page)
    grid = dom.split('id="grid"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", grid, re.S)[1:-1]
    assert len(rows) == len(CLASS)
    for row, (student, _, outcomes) in zip(rows, CLASS, strict=True):
        assert student in row
        assert re.findall(r'<td class="cell (\w+)"', row) == outcomes
    assert "100 / 100" in rows[0] and "15 / 100" in rows[1] and "75 / 100" in rows[2]
    assert dom.count('<details class="student"') == len(CLASS)
    screenshot = tmp_path / "class.png"
    browse(browser, page, screenshot=screenshot)
    _assert_screenshot(screenshot)
