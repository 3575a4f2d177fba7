"""`labrunner grade`: run a lab's checks, read-only, against one account or a whole class.

The last stage of the pipeline, beside `runner.engine.cli`: it drives the engine's loop in grade mode
and reports the records.
- `mode.py` is grade mode (checks only, evidence when they fail, no cleanup); `grader.py` grades one
  account with it;
- `guard.py` enforces read-only where calls leave the process (every boto3 client of a graded target,
  and every step before its action runs); `sharing.py` answers identical reads once per account;
- `accounts.py` reads a class list; `classroom.py` assumes a role in each account, grades them in
  parallel and writes the class summary; `gradescope.py` and `junit.py` write what course tools read;
- `policy.py` derives the least-privilege IAM policy a grader role needs;
- `cli.py` turns the command line into all of that.
"""
