"""Read-only enforcement for grading: nothing a grade does can change a student's account.

Two layers, both outside the lab's control:
- every boto3 client a graded `Target` makes gets a botocore handler that refuses any
  operation that is not read-only (`runner.aws_models.is_read_only`) before the request is
  signed or sent. This also catches higher-level actions that call a mutating API internally
  (`kms.key_users` calls PutKeyPolicy);
- `GuardedStepRunner` refuses, before its action runs, a step whose action is not read-only and an
  `http.request` with a method other than GET, HEAD or OPTIONS (those requests do not go through boto3).
A refusal is recorded as the step's `error` with code `ReadOnlyViolation` and a message naming the
operation; it is never retried. Grading also runs each check once: its `retry` waits for the lab's own
changes during `labrunner run`, and a grade observes the account as it is.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from runner.aws_models import is_read_only
from runner.engine.context import RunContext
from runner.engine.record import ErrorInfo, StepRecord
from runner.engine.steps import Finished, Outcome, Prepared, StepRunner
from runner.engine.targets import Target
from runner.model import Lab, Step

CODE = "ReadOnlyViolation"
_UNDEFINED = re.compile(r"undefined variable '([A-Za-z_][A-Za-z0-9_]*)'")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def read_only_operation(model: Any) -> bool:
    """Whether a botocore operation model only reads."""
    return is_read_only(model.service_model.service_name, model.name)


def refusal_message(service: str, operation: str) -> str:
    return (f"grading is read-only: {service}:{operation} could change the account, so it was refused "
            "before it was sent")


def _refuse(model: Any, **_: Any) -> None:
    if read_only_operation(model):
        return
    from botocore.exceptions import ClientError

    service = model.service_model.service_name
    raise ClientError({"Error": {"Code": CODE, "Message": refusal_message(service, model.name)},
                       "ResponseMetadata": {"HTTPStatusCode": 0}}, model.name)


def guard_client(client: Any) -> None:
    """Refuse every non-read-only operation on this boto3 client, before it is sent."""
    # `provide-client-params` is the first event of every API call (paginators and s3transfer included),
    # before parameters are validated or a request is built; an exception there ends the call with
    # nothing on the wire. Registered first, so no other handler sees a refused call.
    client.meta.events.register_first("provide-client-params", _refuse, unique_id="labrunner-read-only-guard")


def guard(target: Target) -> Target:
    """Make every client of `target` read-only, those it already made included; returns the target."""
    target.add_client_hook(guard_client)
    return target


def step_refusal(prepared: Prepared) -> str | None:
    """Why a prepared step may not run in grade mode, or None."""
    spec = prepared.spec
    if not spec.read_only:
        return (f"grading is read-only: {spec.name} changes the account, so it was refused before it ran")
    if spec.name == "http.request":
        method = str(prepared.call_params.get("method", "GET")).upper()
        if method not in SAFE_METHODS:
            return f"grading is read-only: http.request with method {method} was refused before it was sent"
    return None


class GuardedStepRunner(StepRunner):
    """The engine's step runner with grade mode's rules: run once, and refuse anything not read-only."""

    def run(self, step: Step, ctx: RunContext) -> Finished:
        return super().run(replace(step, retry=None) if step.retry is not None else step, ctx)

    def cannot_run(self, record: StepRecord, ctx: RunContext) -> StepRecord:
        if record.error is None or record.error.kind != "render":
            return record
        missing = _UNDEFINED.search(record.summary or "")
        if missing is None or missing.group(1) not in _saved_names(ctx.lab):
            return record
        # The value an earlier check (or evidence) saves is missing because that check failed: this one
        # cannot pass either. The student is told so, not shown a template error.
        summary = f"not checked: needs '{missing.group(1)}', which an earlier check saves, and it did not pass"
        return replace(record, status="failed", summary=summary, error=ErrorInfo("render", summary))

    def _attempt(self, prepared: Prepared, ctx: RunContext) -> Outcome:
        refusal = step_refusal(prepared)
        if refusal is not None:
            return Outcome("error", error=ErrorInfo("read_only", refusal, code=CODE), summary=f"{CODE}: {refusal}")
        outcome = super()._attempt(prepared, ctx)
        refused = outcome.ignored == CODE or (outcome.error is not None and outcome.error.code == CODE)
        if refused:
            # A refusal is not the lab's failure to judge (nor an error to ignore or expect): the step
            # could not run.
            message = outcome.error.message if outcome.error is not None else refusal_message("aws", "operation")
            return Outcome("error", outcome.result, error=ErrorInfo("read_only", message, code=CODE),
                           summary=f"{CODE}: {message}")
        return outcome


def _saved_names(lab: Lab) -> frozenset[str]:
    """Every name a check, evidence or advice of the lab saves."""
    return frozenset(name for task in lab.tasks for step in (*task.checks, *task.evidence, *task.advice)
                     for name in step.save)
