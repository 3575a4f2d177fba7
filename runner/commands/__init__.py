"""The `labrunner` command line: the parser, the exit statuses, and one module per command.

- `main.py`: the parser (every command's options and help) and `main`, which runs one command and
  turns its errors into messages and exit statuses;
- `exits.py`: the exit statuses, defined once;
- `options.py`: what shared option values mean (`--var`, `--task`, `--region`, `--faults`, output paths);
- `confirm.py`: asking before a real AWS account is used;
- `validate.py`, `schema.py`, `actions.py`, `run.py`, `grade.py`, `cleanup.py`, `report.py`, `new.py`,
  `emulator.py`: one command each, `command(args, out) -> exit status`.

The top of the pipeline: it imports the validator, the engine, grading and the reports; none of them
imports it. Only argparse is imported at start-up (`main.py` imports a command's module when it runs),
so `labrunner --help` never loads boto3 or the emulator.
"""
