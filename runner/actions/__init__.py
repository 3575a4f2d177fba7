"""Higher-level actions, one module per service; each action is one `@action`-decorated function.

Every module in this package is imported when the registry first lists the built-in actions.
Actions never import the engine: they get an `ActionContext` and their rendered parameters. Two
modules are not a service: `aws.py` (any boto3 operation, and the helpers that call botocore) and
`failures.py` (how an action fails: the error vocabulary the engine shares).
"""
