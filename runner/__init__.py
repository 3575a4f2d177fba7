"""labrunner: a declarative YAML runner for cloud hands-on labs.

The pipeline runs one way: `loader` (YAML with marks) -> `validate` (every problem) -> `model` (typed,
frozen) -> `engine` (render, call, assert, retry, save, record) -> reports (`report`, `grading`);
`commands` is the command line over all of it, and nothing below it imports it.
"""

__version__ = "0.1.0"
