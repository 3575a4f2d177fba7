"""The Gradescope autograder zip for a lab (what `labrunner autograder` writes).

Per Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
`setup.sh` and `run_autograder` at the zip's root (Gradescope unpacks the zip into /autograder/source
and copies run_autograder to /autograder), beside them the lab and the files it names, `autograder.json`
(`config.py`), a wheel of this labrunner (`wheel.py`) that setup.sh installs, and, when the instructor
gives a profile, `aws-credentials`: the keys that assume the grader role (the zip is then owner-only).

Which files a lab names is found by name: every file under the lab's folder whose relative path its
text (or that of a YAML file it names) mentions. The copy is then loaded from a scratch folder, as
Gradescope will, so a file that was missed is an error here rather than in every submission.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from runner.autograder import wheel
from runner.autograder.config import FILE, Config

#: The lab's folder is searched this deep, for at most this many files, for the files it names.
MAX_DEPTH = 4
MAX_FILES = 5000
_SCRIPTS = {"setup.sh": "autograder-setup.sh", "run_autograder": "autograder-run.sh"}
CREDENTIALS = "aws-credentials"


def _files_under(folder: Path) -> Iterator[str]:
    """Relative paths of the files under `folder` (not hidden, not through links), breadth first."""
    seen = 0
    for current, folders, files in os.walk(folder):
        depth = len(Path(current).relative_to(folder).parts)
        folders[:] = sorted(f for f in folders if not f.startswith(".") and f != "__pycache__" and depth < MAX_DEPTH)
        for name in sorted(files):
            if name.startswith("."):
                continue
            seen += 1
            if seen > MAX_FILES:
                return
            yield (Path(current) / name).relative_to(folder).as_posix()


def _mentioned(text: str, relative: str) -> bool:
    return re.search(rf"(?<![\w./-]){re.escape(relative)}(?![\w/-])", text) is not None


def lab_files(lab: Path) -> list[str]:
    """The files beside `lab` that it names (and those the YAML files it names name), relative to its folder."""
    folder = lab.parent
    candidates = [path for path in _files_under(folder) if path != lab.name]
    texts = [lab.read_text(encoding="utf-8", errors="replace")]
    chosen: list[str] = []
    while texts:
        text = texts.pop()
        for relative in candidates:
            if relative not in chosen and _mentioned(text, relative):
                chosen.append(relative)
                if relative.endswith((".yaml", ".yml")):
                    texts.append((folder / relative).read_text(encoding="utf-8", errors="replace"))
    return sorted(chosen)


def credentials_file(profile: str) -> tuple[str, bool]:
    """An AWS credentials file with `profile`'s keys as its only (default) profile; whether they expire."""
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        found = boto3.Session(profile_name=profile).get_credentials()
    except BotoCoreError as exc:
        raise ValueError(f"--profile {profile}: {exc}") from None
    if found is None:
        raise ValueError(f"--profile {profile}: no credentials found for it")
    frozen = found.get_frozen_credentials()
    parser = configparser.ConfigParser()
    parser["default"] = {"aws_access_key_id": frozen.access_key, "aws_secret_access_key": frozen.secret_key}
    if frozen.token:
        parser["default"]["aws_session_token"] = frozen.token
    buffer = io.StringIO()
    parser.write(buffer)
    return buffer.getvalue(), bool(frozen.token)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    entry.external_attr = mode << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    return entry


def build(lab: Path, config: Config, credentials: str | None = None) -> bytes:
    """The zip's bytes: scripts, the lab and its files, autograder.json, the wheel, the credentials."""
    contents: list[tuple[str, bytes, int]] = []
    for name, template in _SCRIPTS.items():
        contents.append((name, resources.files("runner").joinpath("data", template).read_bytes(), 0o755))
    contents.append((config.lab, lab.read_bytes(), 0o644))
    contents += [(relative, (lab.parent / relative).read_bytes(), 0o644) for relative in lab_files(lab)]
    contents.append((FILE, config.to_json().encode(), 0o644))
    contents.append((wheel.filename(), wheel.build(), 0o644))
    if credentials is not None:
        contents.append((CREDENTIALS, credentials.encode(), 0o600))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in contents:
            archive.writestr(_entry(name, mode), data)
    return buffer.getvalue()


def check(archive: bytes) -> None:
    """Load the lab from the zip's copy in a scratch folder, as Gradescope will; `LabError` if it does not."""
    from runner.autograder.run import load

    with tempfile.TemporaryDirectory(prefix="labrunner-autograder-") as scratch:
        with zipfile.ZipFile(io.BytesIO(archive)) as opened:
            opened.extractall(scratch)
        load(Path(scratch))
