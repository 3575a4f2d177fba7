"""Higher-level actions, one module per service; each action is one `@action`-decorated function.

Every module in this package is imported when the registry first lists the built-in actions.
Actions never import the engine: they get an `ActionContext` and their rendered parameters.
"""
