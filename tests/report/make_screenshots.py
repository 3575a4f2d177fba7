"""Render the report of a real run and of a class, and photograph both in headless Chromium.

    .venv/bin/python tests/plugin/make_screenshots.py    # rewrites docs/report-run.png, docs/report-class.png

`test_report_browser.py` uses the same functions, so the screenshots in `docs/` are of pages the
tests check. The run is `DEMO_LAB` on the embedded emulator (its second task fails on purpose); the
class is three synthetic grade records that validate against `schemas/record.schema.json`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import chdir, redirect_stdout
from pathlib import Path

from report_helpers import REPO, class_record  # beside this file: on sys.path as a script and under pytest

from runner.commands.main import main

#: A small lab whose second task fails (a tag with the wrong value) and whose third is then skipped.
DEMO_LAB = """\
lab: s3-tagged-bucket
title: Create a tagged S3 bucket
vars:
  bucket: "reports-{{ random_digits(8) }}"
tasks:
  - id: create-bucket
    title: Create the bucket
    points: 10
    steps:
      - id: make-bucket
        action: aws.s3.create_bucket
        params: {Bucket: "{{ bucket }}"}
        cleanup:
          action: aws.s3.delete_bucket
          params: {Bucket: "{{ bucket }}"}
          ignore_errors: [NoSuchBucket]
    checks:
      - id: bucket-exists
        action: aws.s3.head_bucket
        params: {Bucket: "{{ bucket }}"}
  - id: tag-bucket
    title: Tag the bucket for the finance team
    points: 20
    steps:
      - id: put-tags
        action: aws.s3.put_bucket_tagging
        params:
          Bucket: "{{ bucket }}"
          Tagging:
            TagSet:
              - {Key: team, Value: marketing}
    checks:
      - id: team-tag
        title: The bucket belongs to finance
        action: aws.s3.get_bucket_tagging
        params: {Bucket: "{{ bucket }}"}
        expect:
          - path: "TagSet[?Key=='team'].Value | [0]"
            equals: finance
            message: Tag the bucket with team=finance.
          - path: TagSet
            length: 1
  - id: versioning
    title: Turn on versioning
    points: 10
    steps:
      - action: aws.s3.put_bucket_versioning
        params:
          Bucket: "{{ bucket }}"
          VersioningConfiguration: {Status: Enabled}
    checks:
      - action: aws.s3.get_bucket_versioning
        params: {Bucket: "{{ bucket }}"}
        expect: {Status: Enabled}
"""

#: (student, account, the four task statuses) of the class.
CLASS = (("Ana Lima", "111111111111", ["passed", "passed", "passed", "passed"]),
         ("Ben Okafor", "222222222222", ["passed", "failed", "skipped", "skipped"]),
         ("Chloé Martin", "333333333333", ["passed", "passed", "error", "passed"]))


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_report(folder: Path) -> tuple[Path, dict[str, object]]:
    """Run DEMO_LAB on the embedded emulator, then `labrunner report` its record: the page and the record."""
    lab = folder / "labs" / "s3-tagged-bucket.yaml"
    lab.parent.mkdir(parents=True, exist_ok=True)
    lab.write_text(DEMO_LAB, encoding="utf-8")
    record = folder / "run.json"
    # From the lab's project folder, so the page names the lab as a user would type it.
    with redirect_stdout(io.StringIO()), chdir(folder):
        status = main(["run", "labs/s3-tagged-bucket.yaml", "--record", str(record), "--seed", "7"], sys.stdout)
        assert status == 1, "the demo lab's second task is meant to fail"
        page = folder / "run.html"
        assert main(["report", str(record), "--html", str(page)], sys.stdout) == 0
    return page, json.loads(record.read_text(encoding="utf-8"))


def class_report(folder: Path) -> Path:
    """Three grade records, then `labrunner report` of the class."""
    paths = []
    for index, (student, account, outcomes) in enumerate(CLASS):
        path = folder / f"grade-{index}.json"
        path.write_text(json.dumps(class_record(student, account, outcomes)), encoding="utf-8")
        paths.append(str(path))
    page = folder / "class.html"
    with redirect_stdout(io.StringIO()):
        assert main(["report", *paths, "--html", str(page)], sys.stdout) == 0
    return page


def browse(browser: str, page: Path, *, screenshot: Path | None = None, size: str = "1280,900") -> str:
    """Open `page` in headless Chromium, offline and with a throwaway profile: its DOM as parsed; and
    with `screenshot`, a PNG of the window."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={size}"]
        args += [f"--screenshot={screenshot}"] if screenshot else ["--dump-dom"]
        done = subprocess.run([*args, page.resolve().as_uri()], capture_output=True, text=True, timeout=180,
                              check=False, env={**os.environ, "HOME": profile})
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def main_screenshots() -> int:
    browser = chromium()
    if browser is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 2
    docs = REPO / "docs"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        page, _ = run_report(folder)
        browse(browser, page, screenshot=docs / "report-run.png", size="1280,1100")
        browse(browser, class_report(folder), screenshot=docs / "report-class.png", size="1280,760")
    print(f"wrote {docs / 'report-run.png'} and {docs / 'report-class.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main_screenshots())
