"""`labrunner grade`: run a lab's checks, read-only, against one account or a whole class.

The last stage of the pipeline, beside `runner.engine.cli`: it drives the engine's loop in grade mode
(`RunOptions(mode="grade")`: checks only, evidence when they fail, no cleanup) and reports the records.
- `guard.py` enforces read-only where calls leave the process (every boto3 client of a graded target,
  and every step before its action runs);
- `accounts.py` reads a class list; `classroom.py` assumes a role in each account and grades them in
  parallel; `gradescope.py`, `junit.py` and `summary.py` write what course tools read;
- `policy.py` derives the least-privilege IAM policy a grader role needs;
- `cli.py` turns the command line into all of that.
"""
