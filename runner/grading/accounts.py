"""A class list for `labrunner grade --accounts FILE`: which accounts to grade, and whose they are.

Two forms, told apart by the first line that is not blank or a `#` comment:
- one 12-digit account id per line (optionally followed by a comma and a name);
- a CSV whose header names an `account` (or `account_id`) column and, optionally, a `name` column
  (other columns are ignored).
Every problem is reported at once, each with its line number, as a `UsageError` (exit 2).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError

_ACCOUNT = re.compile(r"^\d{12}$")
_ACCOUNT_COLUMNS = ("account", "account_id", "accountid", "account id")


@dataclass(frozen=True)
class Student:
    account: str
    name: str  # the account id when the list gives no name

    @property
    def slug(self) -> str:
        """A file-name-safe form of the name, for per-student records."""
        cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-.")
        return cleaned or self.account


def read_accounts(path: str) -> list[Student]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"--accounts: no such file '{path}'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--accounts: cannot read '{path}': {exc}") from None
    return parse_accounts(text, path)


def parse_accounts(text: str, source: str = "<accounts>") -> list[Student]:
    rows = [(number, row) for number, row in enumerate(csv.reader(io.StringIO(text)), 1)
            if row and any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#")]
    if not rows:
        raise UsageError(f"--accounts: {source} lists no accounts (one 12-digit account id per line, or a CSV "
                         "with an 'account' column)")
    header = [cell.strip().lower() for cell in rows[0][1]]
    account_column = next((header.index(c) for c in _ACCOUNT_COLUMNS if c in header), None)
    if account_column is not None:
        name_column = header.index("name") if "name" in header else None
        body = rows[1:]
    elif _ACCOUNT.match(rows[0][1][0].strip()) or not any(c.isalpha() for c in rows[0][1][0]):
        account_column, name_column, body = 0, 1, rows
    else:
        raise UsageError(f"--accounts: {source}:{rows[0][0]}: a CSV header needs an 'account' (or 'account_id') "
                         f"column; found {', '.join(repr(c) for c in header)}")
    problems: list[str] = []
    students: list[Student] = []
    seen: dict[str, int] = {}
    for number, row in body:
        cells = [cell.strip() for cell in row]
        account = cells[account_column] if account_column < len(cells) else ""
        name = cells[name_column] if name_column is not None and name_column < len(cells) else ""
        if not _ACCOUNT.match(account):
            problems.append(f"{source}:{number}: '{account}' is not an AWS account id (12 digits)")
            continue
        if account in seen:
            problems.append(f"{source}:{number}: account {account} is listed twice (first at line {seen[account]})")
            continue
        seen[account] = number
        students.append(Student(account, name or account))
    if problems:
        raise UsageError(f"--accounts: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the class "
                         "list:\n  " + "\n  ".join(problems))
    if not students:
        raise UsageError(f"--accounts: {source} has a header but no accounts")
    return students
