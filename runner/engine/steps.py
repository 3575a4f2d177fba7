"""One step, start to finish: `when`, render, re-validate, call the action, assert, retry, save.

Used by `loop.py` for steps, checks and cleanups alike. A step runs in two halves so that a cleanup
can be rendered when it is registered and executed at the end of the run:
- `prepare` evaluates `when` and renders the parameters and expectations against the context of the
  moment, then checks what only rendering could reveal (botocore's validation of `aws.*` parameters,
  the action's JSON Schema, files, JMESPath and regexes): a problem there is an `error`, never a call;
- `execute` calls the action, matches errors against `expect_error`/`ignore_errors`, evaluates every
  expectation, polls under `retry` (`retrying.py`) and evaluates `save` on success.
Statuses: passed, failed (a mismatch or an unexpected error), error (the step could not run),
skipped (`when` was falsy).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jmespath.exceptions import JMESPathError

from runner import registry, templates, value_checks
from runner.actions import bounds
from runner.actions.aws import call_operation, plain, prepare_params
from runner.actions.failures import ActionFailed, failure_from
from runner.engine import assertions, display
from runner.engine.assertions import Check
from runner.engine.context import RunContext
from runner.engine.observer import NullObserver, Observer, Wait
from runner.engine.record import AssertionRecord, ErrorInfo, StepRecord, StepStatus
from runner.engine.retrying import Clock, Deadline, Sleep, Waiting, poll
from runner.errors import brief, kind_of
from runner.model import LOOP_ITEM, Step
from runner.operators import show

#: Sections whose steps prove a task: a loop over nothing there proves nothing.
_PROOF = frozenset({"checks", "evidence"})
#: Error codes that no retry can fix: the request is wrong or not allowed, or what it reads is past a bound
#: on reading an account's data (unless `retry.on` names them).
NEVER_RETRY = ("ValidationException", "ValidationError", "ParamValidationError", "InvalidParameterValue",
               "InvalidParameterException", "MalformedPolicyDocumentException", "UnauthorizedOperation",
               "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", bounds.CODE)
_FALSY_TEXT = frozenset({"", "false", "no", "off", "0", "none", "null"})
#: The `ErrorInfo.kind` of a step that the run's time limit kept from running.
TIME_LIMIT = "time_limit"


def code_matches(code: str, wanted: tuple[str, ...]) -> bool:
    """`KMS.DisabledException` matches `DisabledException` too: S3 prefixes the codes KMS gives it."""
    return code in wanted or code.rsplit(".", 1)[-1] in wanted


def failure_matches(failure: ActionFailed, wanted: tuple[str, ...]) -> bool:
    """Whether a lab's list of codes names this failure, by any of the names it goes by."""
    return any(code_matches(code, wanted) for code in failure.codes)


def never_retried(code: str) -> bool:
    return code.startswith("AccessDenied") or code_matches(code, NEVER_RETRY)


def learn_marked(ctx: RunContext, names: Mapping[str, Any] | None = None) -> None:
    """Tell the run's redactor the values of the lab's `secrets` (vars or saved names) known so far."""
    marked = ctx.lab.secrets
    if not marked:
        return
    values = ctx.variables if names is None else names
    for name in marked:
        if name in values:
            ctx.redactor.add_secret(values[name])


def truthy(value: Any) -> bool:
    """Whether `when` holds: a rendered "false", "no" or "0" is false, as an author reads it."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_TEXT
    return bool(value)


@dataclass(frozen=True)
class Prepared:
    """A step with everything rendered and checked: ready to call."""

    step: Step
    spec: registry.ActionSpec
    params: Any  # as the lab wrote them, rendered (what the record shows)
    call_params: dict[str, Any]  # as the action takes them (aws.*: policy documents as JSON)
    checks: tuple[Check, ...]
    registered_by: str | None = None  # a step's cleanup: the key of that step


@dataclass(frozen=True)
class Outcome:
    """One attempt, judged."""

    status: StepStatus
    result: Any = None
    assertions: tuple[AssertionRecord, ...] = ()
    error: ErrorInfo | None = None
    summary: str | None = None
    ignored: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class Finished:
    """A step's record, the context after its saves, and the cleanup it registered (if any)."""

    record: StepRecord
    context: RunContext
    cleanup: Prepared | StepRecord | None = None
    saved: Mapping[str, Any] = field(default_factory=dict)


def base_record(step: Step, status: StepStatus, **values: Any) -> StepRecord:
    return StepRecord(
        key=step.key, action=step.action, section=step.section, status=status, location=str(step.location),
        id=step.id, title=step.title, task=step.task_id, hint=step.message, **values,
    )


def cleanup_of(step: Step) -> Step:
    """A step's cleanup, named after the step that registers it (reports say whose cleanup ran)."""
    assert step.cleanup is not None
    cleanup = step.cleanup
    return cleanup if cleanup.id else replace(cleanup, key=f"{step.key}.cleanup")


def _goal(prepared: Prepared) -> str:
    """What would end a step's wait: its expectations, the error it expects, or success."""
    if prepared.checks:
        return ", ".join(f"{check.path} {check.operator} {show(check.expected, 60)}"
                         for check in prepared.checks)
    if prepared.step.expect_error:
        return f"error {' or '.join(prepared.step.expect_error)}"
    return "success"


def _seen(prepared: Prepared, outcome: Outcome) -> str:
    """What an attempt that did not end the wait saw: as its action words it (`ActionSpec.progress`),
    else the values its failed expectations found, else why it failed."""
    progress = prepared.spec.progress
    if progress is not None and outcome.error is None and isinstance(outcome.result, dict):
        try:
            return progress(outcome.result)
        except Exception:  # a wording that does not fit this result must not stop the wait: say the rest
            pass
    failed = [record for record in outcome.assertions if not record.passed]
    if failed:
        return ", ".join(f"{record.path} is {show(record.actual, 60)}" for record in failed)
    return outcome.summary or "not yet"


class PrepareError(Exception):
    def __init__(self, kind: str, message: str, params: Any = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.params = params


class StepRunner:
    """Runs steps against one target, with an injectable clock and sleep (tests take no real time).

    `deadline`: when the run's time is up (`loop.RunOptions.time_limit`). A step is the unit of work a
    run can stop between (a thread cannot be stopped in the middle of a call): past the deadline a step
    is not run, and a retried step waits for no attempt after it.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep,
                 observer: Observer | None = None) -> None:
        self.clock = clock
        self.sleep = sleep
        self.observer: Observer = observer or NullObserver()
        self.deadline: Deadline | None = None

    def out_of_time(self) -> bool:
        return self.deadline is not None and self.deadline.passed(self.clock)

    # ---- the whole step

    def run_each(self, step: Step, ctx: RunContext) -> Iterator[Finished]:
        """A step; with `loop`, the step once for each item, in order, each recorded as `key[index]`.

        Each item runs as a step of its own with `item` in its templates: its `when`, retry, cleanup and
        saves are its own, and a failure names its item. In `steps`, a failed item skips the rest, as a
        failed step skips the task's later steps; checks and cleanups try every item. Each `Finished`'s
        context is the one to go on with: after a loop whose items all passed (or were skipped by `when`),
        a saved name holds the values its items saved, in order. A check over an empty list fails.
        """
        if step.loop is None:
            yield self.run(step, ctx)
            return
        try:
            items = self._loop_items(step, ctx)
        except PrepareError as exc:
            record = self.cannot_run(base_record(display.step(step, ctx), "error",
                                                 error=ErrorInfo(exc.kind, exc.message), summary=exc.message), ctx)
            self.observer.step_finished(record)
            yield Finished(record, ctx)
            return
        if not items:
            # Proof over nothing proves nothing: a check (or evidence) whose list is empty fails.
            status: StepStatus = "failed" if step.section in _PROOF else "skipped"
            summary = ("nothing to check: the loop's list is empty" if status == "failed"
                       else "skipped: loop over an empty list")
            record = base_record(display.step(step, ctx), status, summary=summary)
            self.observer.step_finished(record)
            yield Finished(record, ctx)
            return
        saved: dict[str, list[Any]] = {name: [] for name in step.save}
        stopped: str | None = None  # in steps, the failed item that skips the rest
        failed = False
        for index, item in enumerate(items):
            one = replace(step, key=f"{step.key}[{index}]", id=f"{step.id}[{index}]" if step.id else None, loop=None)
            inner = ctx.with_variables({LOOP_ITEM: item})
            if stopped is not None:
                record = base_record(display.step(one, inner), "skipped", summary=f"skipped: {stopped} failed")
                self.observer.step_finished(record)
                yield Finished(record, ctx)
                continue
            finished = self.run(one, inner)
            record = finished.record
            if record.failed:
                record = replace(record, summary=f"item {show(item)}: {record.summary or record.status}")
                failed = True
                stopped = one.key if step.section == "steps" else None
            for name, value in finished.saved.items():
                saved[name].append(value)
            # As a step saves only when it passes, a loop saves its lists only when no item failed.
            last = index == len(items) - 1
            after = ctx.with_variables(saved) if last and not failed else ctx
            yield Finished(record, after, finished.cleanup, finished.saved)

    def _loop_items(self, step: Step, ctx: RunContext) -> list[Any]:
        try:
            value = ctx.render(step.loop)
        except templates.TemplateError as exc:
            raise PrepareError("render", f"loop: {exc.message}") from None
        if not isinstance(value, (list, tuple)):
            raise PrepareError("params", f"loop: {brief(step.loop)} gave {kind_of(value)} {show(value)}; "
                               "loop takes a list")
        return list(value)

    def run(self, step: Step, ctx: RunContext) -> Finished:
        """Prepare and execute one step; on success, register its cleanup (rendered with its saves).
        Past the deadline, the step's record says it was not run, and why."""
        if self.deadline is not None and self.out_of_time():
            record = base_record(step, "error", error=ErrorInfo(TIME_LIMIT, self.deadline.reason),
                                 summary=f"not run: {self.deadline.reason}")
            self.observer.step_finished(record)
            return Finished(record, ctx)
        started = self.clock()
        prepared = self.prepare(step, ctx)
        if isinstance(prepared, StepRecord):
            self.observer.step_finished(prepared)
            return Finished(prepared, ctx)
        record, saved = self.execute(prepared, ctx, started=started)
        after = ctx.with_variables(saved)
        cleanup: Prepared | StepRecord | None = None
        if record.status == "passed" and step.cleanup is not None:
            ready = self.prepare(cleanup_of(step), after)
            cleanup = replace(ready, registered_by=step.key)
        return Finished(record, after, cleanup, saved)

    # ---- first half: render and check

    def prepare(self, step: Step, ctx: RunContext) -> Prepared | StepRecord:
        """The step ready to run, or its record when it is skipped (`when`) or cannot run (error)."""
        step = display.step(step, ctx)
        try:
            if step.when is not None:
                decided = step.when if isinstance(step.when, bool) else ctx.render(step.when)
                if not truthy(decided):
                    return base_record(step, "skipped", summary=f"skipped: when {step.when!r} is false")
            spec = registry.resolve(step.action)
            params = self._render_params(step, ctx)
            call_params = self._check_params(step, spec, params, ctx)
            checks = self._render_checks(step, ctx)
        except PrepareError as exc:
            error = ErrorInfo(kind=exc.kind, message=exc.message)
            return self.cannot_run(base_record(step, "error", error=error, summary=exc.message, params=exc.params),
                                   ctx)
        except registry.UnknownAction as exc:  # the validator makes this unreachable for a loaded lab
            return base_record(step, "error", error=ErrorInfo("params", exc.message), summary=exc.message)
        except templates.TemplateError as exc:
            message = f"when: {exc.message}"
            return self.cannot_run(base_record(step, "error", error=ErrorInfo("render", message), summary=message),
                                   ctx)
        ctx.redactor.learn(params)
        learn_marked(ctx)
        return Prepared(step, spec, params, call_params, checks)

    def cannot_run(self, record: StepRecord, ctx: RunContext) -> StepRecord:
        """The record of a step that could not be rendered or checked: its `error` (a mode may judge
        otherwise: grading's `GuardedStepRunner`)."""
        return record

    def _render_params(self, step: Step, ctx: RunContext) -> Any:
        raw = step.params if step.params is not None else {}
        if not isinstance(raw, dict):
            try:
                return ctx.render(raw)
            except templates.TemplateError as exc:
                raise PrepareError("render", f"params: {exc.message}") from None
        rendered: dict[str, Any] = {}
        for key, value in raw.items():
            try:
                rendered[key] = ctx.render(value)
            except templates.TemplateError as exc:
                raise PrepareError("render", f"params.{key}: {exc.message}") from None
        return rendered

    def _check_params(self, step: Step, spec: registry.ActionSpec, params: Any, ctx: RunContext) -> dict[str, Any]:
        if not isinstance(params, dict):
            raise PrepareError("params", f"params rendered to {type(params).__name__}, not a mapping", params)
        if spec.operation is not None:
            call_params = prepare_params(spec.operation, params)
            problems = value_checks.botocore_problems(spec.operation, call_params, rendered=True)
            if problems:
                text = "; ".join(f"{message} ({hint})" if hint else message for _, message, hint in problems)
                raise PrepareError("params", f"after rendering: {text}", params)
            return call_params
        errors = sorted(value_checks.params_check(spec.name, rendered=True).errors(params),
                        key=lambda e: list(e.absolute_path))
        if errors:
            text = "; ".join(
                f"params.{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" if e.absolute_path
                else f"params: {e.message}" for e in errors)
            raise PrepareError("params", f"after rendering: {text}", params)
        for name in spec.files:
            if isinstance(params.get(name), str):
                problem = value_checks.file_problem(ctx.services.lab_dir, params[name])
                if problem:
                    raise PrepareError("params", f"params.{name}: {problem[0]}", params)
        return dict(params)

    def _render_checks(self, step: Step, ctx: RunContext) -> tuple[Check, ...]:
        checks = []
        for number, expectation in enumerate(step.expect, 1):
            try:
                path = ctx.render(expectation.path)
                expected = ctx.render(expectation.expected)
            except templates.TemplateError as exc:
                raise PrepareError("render", f"expect #{number} ({expectation.path}): {exc.message}") from None
            check = Check(str(path), expectation.operator, expected, display.text(expectation.message, ctx),
                          str(expectation.location))
            problem = assertions.validate(check)
            if problem:
                raise PrepareError("params", f"expect #{number}: {problem}")
            checks.append(check)
        return tuple(checks)

    # ---- second half: call, judge, retry, save

    def execute(self, prepared: Prepared, ctx: RunContext, *, started: float | None = None
                ) -> tuple[StepRecord, dict[str, Any]]:
        step = prepared.step
        begin = self.clock() if started is None else started
        self.observer.step_started(step, prepared.params)
        goal: list[str] = []  # what would end a wait: worded once, when the step first waits

        def waiting(outcome: Outcome, progress: Waiting) -> None:
            goal[:] = goal or [_goal(prepared)]
            self.observer.step_waiting(step, Wait(goal[0], ctx.redactor.text(_seen(prepared, outcome)), progress))

        polled = poll(lambda _: self._attempt(prepared, ctx), policy=step.retry,
                      retryable=lambda outcome: outcome.retryable, clock=self.clock, sleep=self.sleep,
                      on_wait=waiting, deadline=self.deadline, tick=self.observer.tick)
        outcome = polled.outcome
        saved: dict[str, Any] = {}
        status, error, summary = outcome.status, outcome.error, outcome.summary
        if status == "passed" and outcome.ignored is None and step.save:
            try:
                saved = self._save(step, outcome.result, ctx)
                learn_marked(ctx, saved)  # before the record or the terminal shows a saved secret
            except PrepareError as exc:
                status, error, summary = "error", ErrorInfo(exc.kind, exc.message), exc.message
        if status != "passed" and polled.attempts > 1 and summary:
            summary = f"{summary} (after {polled.attempts} attempts, {polled.waited:g}s waiting)"
        deadline = self.deadline
        if (status != "passed" and deadline is not None and step.retry is not None
                and begin + step.retry.timeout > deadline.at and deadline.passed(self.clock)):
            # The run's time limit, not the step's own timeout, ended its attempts: it could still have passed.
            status, error = "error", ErrorInfo(TIME_LIMIT, deadline.reason)
            summary = f"{summary or status}; not retried further: {deadline.reason}"
        record = base_record(
            step, status, attempts=polled.attempts, duration_s=round(self.clock() - begin, 3),
            waited_s=round(polled.waited, 3), params=prepared.params, result=outcome.result,
            assertions=outcome.assertions, error=error, saved=saved, summary=summary, ignored_error=outcome.ignored,
            registered_by=prepared.registered_by,
        )
        self.observer.step_finished(record)
        return record, saved

    def _attempt(self, prepared: Prepared, ctx: RunContext) -> Outcome:
        step, spec = prepared.step, prepared.spec
        try:
            if spec.operation is not None:
                result = call_operation(ctx.services, spec.operation, prepared.call_params, paginate=step.paginate)
            else:
                assert spec.run is not None
                result = plain(spec.run(ctx.services, dict(prepared.call_params)))
        except Exception as exc:
            failure = failure_from(exc)
            if failure is None:
                # A bug in an action, not a lab mistake: report it as the step's error, without a traceback.
                message = f"{step.action} failed unexpectedly: {type(exc).__name__}: {exc}"
                return Outcome("error", error=ErrorInfo("crash", message), summary=message)
            return self._judge_failure(prepared, failure, ctx)
        ctx.redactor.learn(result)
        return self._judge_result(prepared, result)

    def _may_retry(self, spec: registry.ActionSpec, step: Step, failure: ActionFailed | None) -> bool:
        named = step.retry.on if step.retry is not None else ()
        if failure is not None and failure_matches(failure, named):
            return True
        if not spec.repeatable:
            return False  # a change that is not safe to repeat is repeated only on the codes the lab names
        return failure is None or not any(never_retried(code) for code in failure.codes)

    def _judge_result(self, prepared: Prepared, result: Any) -> Outcome:
        step = prepared.step
        if step.expect_error:
            summary = f"expected error {' or '.join(step.expect_error)}, but {step.action} succeeded"
            return Outcome("failed", result, error=ErrorInfo("expect_error", summary), summary=summary,
                           retryable=self._may_retry(prepared.spec, step, None))
        return self._assert(prepared, result)

    def _judge_failure(self, prepared: Prepared, failure: ActionFailed, ctx: RunContext) -> Outcome:
        step = prepared.step
        document = failure.document()
        if step.expect_error and failure_matches(failure, step.expect_error):
            return self._assert(prepared, document)
        if step.ignore_errors and failure_matches(failure, step.ignore_errors):
            return Outcome("passed", document, ignored=failure.code)
        message = ctx.redactor.text(failure.message)
        summary = f"{failure.code}: {message}" if message else failure.code
        if step.expect_error:
            # Wherever the error is shown (console, JUnit, Gradescope), it says which code was expected.
            expected = " or ".join(step.expect_error)
            summary = f"expected error {expected}, got {summary}"
            message = f"{message} (expected error {expected})" if message else f"expected error {expected}"
        return Outcome("failed", document, error=ErrorInfo("aws", message, code=failure.code, status=failure.status),
                       summary=summary, retryable=self._may_retry(prepared.spec, step, failure))

    def _assert(self, prepared: Prepared, result: Any) -> Outcome:
        try:
            records = assertions.evaluate_all(prepared.checks, result)
        except Exception as exc:  # a JMESPath function given the wrong type, say
            message = f"expect: {type(exc).__name__}: {exc}"
            return Outcome("error", result, error=ErrorInfo("params", message), summary=message)
        failed = [r for r in records if not r.passed]
        if not failed:
            return Outcome("passed", result, records)
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        summary = f"{first.path} {first.operator}: {first.detail}{more}"
        return Outcome("failed", result, records, summary=summary,
                       retryable=self._may_retry(prepared.spec, prepared.step, None))

    def _save(self, step: Step, result: Any, ctx: RunContext) -> dict[str, Any]:
        saved: dict[str, Any] = {}
        for name, expression in step.save.items():
            try:
                path = ctx.render(expression) if templates.is_template(expression) else expression
                saved[name] = assertions.actual_value(str(path), result)
            except templates.TemplateError as exc:
                raise PrepareError("render", f"save.{name}: {exc.message}") from None
            except JMESPathError as exc:
                raise PrepareError("params", f"save.{name}: '{path}' failed: {assertions.path_failure(exc)}") from None
        return saved
