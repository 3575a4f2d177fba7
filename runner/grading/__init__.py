"""Grading: run a lab's checks, read-only, against one account or a whole class.

A library above the engine (`labrunner grade`, `runner.commands.grade`, drives it): it runs the
engine's loop in grade mode and reports the records.
- `mode.py` is grade mode (checks only, evidence when they fail, no cleanup); `grader.py` grades one
  account with it;
- `guard.py` enforces read-only where calls leave the process (every boto3 client of a graded target,
  and every step before its action runs); `sharing.py` answers identical reads once per account;
- `accounts.py` reads a class list; `classroom.py` assumes a role in each account, grades them in
  parallel and writes the class summary; `gradescope.py` and `junit.py` write what course tools read;
- `policy.py` derives the least-privilege IAM policy a grader role needs.
"""
