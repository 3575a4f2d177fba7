"""The engine: runs a validated lab against a target and records what happened.

Pipeline, one way: `targets` (where calls go) -> `context` (variables, builtins, the ActionContext)
-> `assertions` + `retrying` -> `steps` (one step: render, call, assert, retry, save) -> `modes` (what a
kind of run decides) -> `loop` (tasks, cleanup) -> `record` (the typed record) / `junit` / `console`
(outputs; they decide nothing). Beside the loop: `redaction`, `record_json`, `record_files` and
`write_behind` turn the record into a file; `checkpoint` writes it as the run goes; `ledger` keeps the
cleanups in it, which `replay` (`labrunner cleanup`) and `resume` (`--resume`) read back. A library:
`runner.commands` (`labrunner run`, `cleanup`) and `runner.grading` drive it; it imports the model,
templates, registry and actions, and nothing below it imports the engine.
"""
