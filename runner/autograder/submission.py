"""What a student submitted to Gradescope: the AWS account to grade, who they are, and the lab's window.

A leaf of `runner.autograder` (`run.py` asks it). The submission is a file `account.txt` holding the
student's 12-digit account id (as the console shows it, `1234-5678-9012`, is fine too) or the ARN of the
role to assume in it. Gradescope writes `submission_metadata.json` beside the submission folder
(https://gradescope-autograders.readthedocs.io/en/latest/submission_metadata/): the students' names,
and the assignment's release date, from which the grade looks for CloudTrail evidence.

A submission that says nothing usable has a `problem`, a message for the student; metadata that
cannot be read is only noted (it is Gradescope's, not the student's, and the grade can do without it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ACCOUNT_FILE = "account.txt"
#: account.txt is a line of text: anything longer is not one.
MAX_BYTES = 4096
#: CloudTrail's event history goes back 90 days: evidence older than that cannot be found.
HISTORY = timedelta(days=90)
#: The window when the assignment's release date is unknown (as `labrunner grade`'s default).
DEFAULT_WINDOW = timedelta(days=7)
_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE_ARN = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]+$")
_HELP = (f"Upload one file named {ACCOUNT_FILE} holding your 12-digit AWS account id (the number in the top "
         "right corner of the AWS console, e.g. 1234-5678-9012).")


class Malformed(Exception):
    """The submission names no account: the message says what was found and what to upload instead."""


@dataclass(frozen=True)
class Submission:
    account: str  # empty when `problem` says why there is none
    role_arn: str | None  # the role the student named; else the autograder's --role-name in `account`
    student: str  # the submitters' names (a group's, joined), or their ids
    since: datetime  # the start of the lab's window for CloudTrail evidence
    notes: tuple[str, ...] = ()  # what could not be read of Gradescope's metadata, for the instructor's log
    problem: str | None = None  # why the submission names no account, for the student


def read(root: Path, now: datetime | None = None) -> Submission:
    """The submission under an autograder root (`/autograder`)."""
    now = now or datetime.now(UTC)
    metadata, notes = _metadata(root / "submission_metadata.json")
    student, since = _student(metadata), _since(metadata, now, notes)
    try:
        account, role_arn = parse_account(_account_text(root / "submission"))
    except Malformed as exc:
        return Submission("", None, student, since, tuple(notes), str(exc))
    return Submission(account, role_arn, student, since, tuple(notes))


def _account_text(folder: Path) -> str:
    """account.txt's text (its name in any case, at the top of the submission: an upload, or a repository)."""
    entries = sorted(folder.iterdir()) if folder.is_dir() else []
    candidates = [p for p in entries if p.name.lower() == ACCOUNT_FILE and p.is_file()]
    if not candidates:
        found = [p.name for p in entries][:5]
        seen = f" (the submission holds {', '.join(found)})" if found else " (the submission is empty)"
        raise Malformed(f"No {ACCOUNT_FILE} was submitted{seen}. {_HELP}")
    if len(candidates) > 1:
        raise Malformed(f"Several account files were submitted ({', '.join(p.name for p in candidates)}); "
                        f"submit one. {_HELP}")
    with candidates[0].open("rb") as stream:
        data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Malformed(f"{ACCOUNT_FILE} is longer than a line of text ({MAX_BYTES} bytes at most). {_HELP}")
    return data.decode("utf-8-sig", errors="replace")


def parse_account(text: str) -> tuple[str, str | None]:
    """(account, role ARN or None) from account.txt's text: its first line that is not blank or a # comment."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise Malformed(f"{ACCOUNT_FILE} is empty. {_HELP}")
    value = lines[0]
    match = _ROLE_ARN.match(value)
    if match:
        return match.group(2), value
    digits = re.sub(r"[\s-]", "", value)
    if _ACCOUNT.match(digits):
        return digits, None
    shown = value if len(value) <= 80 else value[:77] + "..."
    raise Malformed(f"{ACCOUNT_FILE} holds {shown!r}, which is not a 12-digit AWS account id or the ARN of a "
                    f"role (arn:aws:iam::123456789012:role/NAME). {_HELP}")


def _metadata(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        with path.open("rb") as stream:
            data = json.loads(stream.read(1024 * 1024))
    except FileNotFoundError:
        return {}, [f"{path.name} is missing: the student is unnamed and the window is the default"]
    except (OSError, ValueError) as exc:
        return {}, [f"{path.name} cannot be read ({exc}): the student is unnamed and the window is the default"]
    return (data, []) if isinstance(data, dict) else ({}, [f"{path.name} is not a JSON object"])


def _student(metadata: dict[str, Any]) -> str:
    users = metadata.get("users")
    if not isinstance(users, list):
        return "student"
    names = [str(u.get("name") or u.get("email") or u.get("id")) for u in users if isinstance(u, dict)]
    return ", ".join(n for n in names if n and n != "None") or "student"


def _since(metadata: dict[str, Any], now: datetime, notes: list[str]) -> datetime:
    """The assignment's release date, within CloudTrail's 90 days; else a week before now."""
    assignment = metadata.get("assignment")
    released = assignment.get("release_date") if isinstance(assignment, dict) else None
    if not isinstance(released, str):
        return (now - DEFAULT_WINDOW).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(released.replace("Z", "+00:00"))
    except ValueError:
        notes.append(f"assignment.release_date {released!r} is not an ISO 8601 time: the window is the default")
        return (now - DEFAULT_WINDOW).replace(microsecond=0)
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return max(min(moment, now), now - HISTORY).replace(microsecond=0)
