"""labrunner: a declarative YAML runner for cloud hands-on labs.

The pipeline runs one way (see docs/architecture.md): load (YAML with marks) -> validate (every problem)
-> model (typed, frozen) -> engine (render, call, assert, retry, save, record) -> reports.
"""

__version__ = "0.1.0"
