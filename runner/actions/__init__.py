"""Higher-level actions, one module per service; each action is one `@action`-decorated function.

Each module declares its actions with `declare.action`; the registry imports every module in this package
when it is first asked for an action. Actions never import the engine: they get an `ActionContext` and
their rendered parameters. Five modules are not a service: `declare.py` (how an action is declared),
`aws.py` (any boto3 operation, and the helpers that call botocore), `failures.py` (how an action
fails: the error vocabulary the engine shares), `bounds.py` (how much of an account's data a step may
read) and `log_files.py` (one CloudTrail log file, read as it streams).
"""
