"""A wheel of the labrunner that is running, made from its installed files, for the autograder's zip.

A leaf of `runner.autograder`: `package.py` puts the wheel in the zip, and the zip's `setup.sh` installs
it with pip on Gradescope's image, where only the zip and PyPI (for the dependencies) are there. It is
made here rather than by a build tool: the running labrunner may be an installed wheel with no source
tree, and a wheel is a zip of the package plus its metadata (the binary distribution format, PEP 427
and PEP 491): the files of the `runner` package, `METADATA` with the distribution's own name, version
and requirements, `WHEEL`, `entry_points.txt` and `RECORD` with every file's sha256.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import zipfile
from pathlib import Path

import runner

DISTRIBUTION = "labrunner"
#: Pure Python: one wheel for every platform and Python 3 (the package requires 3.11 itself).
TAG = "py3-none-any"
#: What a package folder holds that a wheel does not ship.
_SKIPPED = ("__pycache__",)
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def filename() -> str:
    return f"{DISTRIBUTION}-{runner.__version__}-{TAG}.whl"


def package_files() -> list[tuple[str, Path]]:
    """Every file of the `runner` package, as (path inside the wheel, path on disk), sorted."""
    root = Path(runner.__file__).resolve().parent
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part in _SKIPPED or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in _SKIPPED_SUFFIXES:
            continue
        files.append((f"runner/{relative.as_posix()}", path))
    return files


def _metadata() -> str:
    """METADATA (core metadata 2.1): the installed distribution's name, version and requirements."""
    try:
        installed = importlib.metadata.metadata(DISTRIBUTION)
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        raise RuntimeError("labrunner is not installed (pip install labrunner, or pip install -e . in a "
                           "clone): the autograder's wheel is made from the installed distribution") from None
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {runner.__version__}"]
    for field in ("Summary", "Requires-Python", "License"):
        if installed[field]:  # a missing field reads as None
            lines.append(f"{field}: {installed[field]}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return "\n".join(lines) + "\n"


def _entry_points() -> str:
    groups: dict[str, list[str]] = {}
    for entry in importlib.metadata.distribution(DISTRIBUTION).entry_points:
        groups.setdefault(entry.group, []).append(f"{entry.name} = {entry.value}")
    return "".join(f"[{group}]\n" + "\n".join(sorted(lines)) + "\n\n" for group, lines in sorted(groups.items()))


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def build() -> bytes:
    """The wheel's bytes."""
    info = f"{DISTRIBUTION}-{runner.__version__}.dist-info"
    contents = [(name, path.read_bytes()) for name, path in package_files()]
    contents += [
        (f"{info}/METADATA", _metadata().encode()),
        (f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: labrunner autograder\nRoot-Is-Purelib: true\n"
                          f"Tag: {TAG}\n".encode()),
        (f"{info}/entry_points.txt", _entry_points().encode()),
    ]
    record = "".join(f"{name},{_digest(data)},{len(data)}\n" for name, data in contents)
    contents.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents:
            # A fixed time: the same labrunner makes the same wheel, byte for byte.
            entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return buffer.getvalue()
