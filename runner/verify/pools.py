"""Where a verify's cases run: worker processes, each with an emulator of its own, or threads of this one.

A case on the embedded emulator never waits (`accounts.Timeline`), so verify is bound by the CPU: its
client and its emulator are both Python, and in one interpreter every case queues for one lock (the
GIL), however many threads run them. `Workers` runs the cases in `parallel` worker processes instead,
one case at a time each, so that every core works. Each worker opens its own target when it starts (its
own embedded emulator, or a target at the `--target` URL), keeps one `Accounts` per region and serves
every lab of the verify. The workers are forked from this process, so they start with the labs and the
settings already loaded (nothing is imported, validated or pickled again); a case's number goes out,
what it did comes back pickled, and the requests a verbose verify shows are recorded in the worker
(`Recording`) and told to this process's watcher when the case ends.

Forking is safe only from a process with one thread (another thread may hold a lock that the child
would inherit, held forever) and where `fork` is the platform's way (Linux). Elsewhere, or for one case
at a time, `Threads` runs the cases `parallel` at a time in threads of this process, on one target: the
way for a process that already serves an emulator (the tests; pytest's plugin under xdist).

`open_pool` chooses; `verifier.verify` hands a pool each lab's cases and hears of each as it ends.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, Protocol

from runner.engine import calls
from runner.engine.record import TaskRecord
from runner.engine.targets import Target, open_target, parse_target
from runner.model import Lab
from runner.verify.accounts import Accounts
from runner.verify.case_run import CaseRun, Settings, run_case
from runner.verify.cases import Case, Phase, plan

#: Cases at once on an endpoint, where a case mostly waits on the network rather than on this machine.
ENDPOINT_PARALLEL = 8

Numbered = Sequence[tuple[int, Case]]  # some of a lab's cases, each with its number in the lab's plan


class Pool(Protocol):
    """Runs labs' cases, each in a fresh account. `run` starts a lab's cases at once (a lab's may start
    before the last one's have ended: no worker waits between labs) and yields what each did as it ends."""

    parallel: int

    def describe(self) -> str: ...

    def run(self, lab: Lab, cases: Numbered) -> Iterator[CaseRun]: ...

    def close(self) -> None: ...


def default_parallel(spec: str) -> int:
    """One case per core on the embedded emulator (all the work is this machine's); more on an endpoint."""
    if parse_target(spec)[0] != "emulator":
        return ENDPOINT_PARALLEL
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def can_fork() -> bool:
    """Whether worker processes can be forked from this process safely."""
    return (sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()
            and threading.active_count() == 1)


def open_pool(spec: str, labs: Sequence[tuple[Lab, str]], settings: Settings, parallel: int | None = None) -> Pool:
    """Where the cases of `labs` (each with its region) run; `spec` is `--target`: `emulator` or a URL.

    An endpoint that cannot make accounts fails here (`UsageError`), before any case runs.
    """
    parallel = parallel or default_parallel(spec)
    if parallel > 1 and can_fork():
        if parse_target(spec)[0] != "emulator":
            probe = open_target(spec, labs[0][1])
            try:
                Accounts(probe).check()
            finally:
                probe.close()
        cases = sum(1 for lab, _ in labs for case in plan(lab) if case.skip is None)
        return Workers(spec, labs, settings, max(1, min(parallel, cases)))  # no worker without a case
    return Threads(open_target(spec, labs[0][1]), labs, settings, parallel)


class _Regions:
    """One `Accounts` per region on one base target, each made when first asked for."""

    def __init__(self, base: Target) -> None:
        self.base = base
        self._accounts: dict[str, Accounts] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str) -> Accounts:
        with self._lock:
            if region not in self._accounts:
                self._accounts[region] = Accounts(self._in(region))
            return self._accounts[region]

    def _in(self, region: str) -> Target:
        if region == self.base.region:
            return self.base
        if self.base.emulator is not None:
            return Target.for_emulator(self.base.emulator, region)
        assert self.base.endpoint is not None
        return Target.at_endpoint(self.base.endpoint, region)


class Threads:
    """Cases `parallel` at a time in threads of this process, on one endpoint or emulator (`base`)."""

    def __init__(self, base: Target, labs: Sequence[tuple[Lab, str]], settings: Settings, parallel: int) -> None:
        self.base, self.settings, self.parallel = base, settings, parallel
        self.regions = {id(lab): region for lab, region in labs}
        self.accounts = _Regions(base)
        try:
            self.accounts(base.region).check()
        except BaseException:
            base.close()
            raise
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="verify")

    def describe(self) -> str:
        return f"{self.base.describe()}  |  every case in a fresh account, {self.parallel} at a time"

    def run(self, lab: Lab, cases: Numbered) -> Iterator[CaseRun]:
        accounts = self.accounts(self.regions.get(id(lab), self.base.region))
        futures = [self._pool.submit(run_case, lab, case, accounts, self.settings, number) for number, case in cases]
        return (future.result() for future in as_completed(futures))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.base.close()


class Recording:
    """A `calls.Watcher` that keeps what it is told, made safe to pickle, to tell another watcher later."""

    def __init__(self) -> None:
        self.told: list[tuple[str, tuple[Any, ...]]] = []

    def request(self, operation: str, params: Any) -> None:
        self.told.append(("request", (operation, calls.showable(params))))

    def response(self, operation: str, status: int | None, body: Any) -> None:
        self.told.append(("response", (operation, status, calls.showable(body))))

    def tell(self, watcher: calls.Watcher) -> None:
        for method, arguments in self.told:
            getattr(watcher, method)(*arguments)


@dataclass(frozen=True)
class _Outcome:
    """What a case did, as it comes back from a worker: a `CaseRun` without its case (the parent has it)."""

    account: str | None
    steps: dict[str, TaskRecord]
    grades: dict[Phase, dict[str, TaskRecord]]
    error: str | None
    seconds: float
    requests: Recording | None


# A worker's own state: set once as it starts (`_begin`), read by every case it runs (`_run_case`).
_worker: dict[str, Any] = {}


def _begin(spec: str, labs: Sequence[tuple[Lab, str]], settings: Settings) -> None:
    # Ctrl-C reaches the whole process group: the parent stops its workers (`Workers.close`) rather than
    # have each die in the middle of a case with a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker.update(labs=labs, settings=settings, plans={}, failed=None)
    try:
        _worker["accounts"] = _Regions(open_target(spec, labs[0][1]))
    except Exception as exc:  # each of its cases says why, rather than a traceback from the pool
        _worker["failed"] = f"its worker could not open its target: {type(exc).__name__}: {exc}"


def _ready() -> int:
    return os.getpid()


def _run_case(lab_index: int, number: int) -> _Outcome:
    if _worker["failed"] is not None:
        return _Outcome(None, {}, {}, _worker["failed"], 0.0, None)
    lab, region = _worker["labs"][lab_index]
    plans: dict[int, list[Case]] = _worker["plans"]
    case = plans.setdefault(lab_index, plan(lab))[number]
    settings: Settings = _worker["settings"]
    recording = Recording() if settings.watcher is not None else None
    run = run_case(lab, case, _worker["accounts"](region), replace(settings, watcher=recording), number)
    return _Outcome(run.account, dict(run.steps), {p: dict(g) for p, g in run.grades.items()}, run.error,
                    run.seconds, recording)


class Workers:
    """Cases in `parallel` worker processes forked from this one, each on a target of its own."""

    def __init__(self, spec: str, labs: Sequence[tuple[Lab, str]], settings: Settings, parallel: int) -> None:
        self.spec, self.settings, self.parallel = spec, settings, parallel
        self.labs = list(labs)
        self._running: set[Future[_Outcome]] = set()
        if parse_target(spec)[0] == "emulator":
            from runner.emulator import preload

            preload()  # once, here, rather than in every worker
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # a forked worker flushes what it inherited unwritten: it would be written twice
        self._pool = ProcessPoolExecutor(parallel, multiprocessing.get_context("fork"), initializer=_begin,
                                         initargs=(spec, self.labs, settings))
        # The first job forks every worker at once, now, while this process still has one thread.
        self._pool.submit(_ready).result()

    def describe(self) -> str:
        where = "embedded emulator, one per worker" if parse_target(self.spec)[0] == "emulator" else self.spec
        return f"{where}  |  every case in a fresh account, {self.parallel} at a time in worker processes"

    def run(self, lab: Lab, cases: Numbered) -> Iterator[CaseRun]:
        index = next(i for i, (known, _) in enumerate(self.labs) if known is lab)
        futures: dict[Future[_Outcome], Case] = {
            self._pool.submit(_run_case, index, number): case for number, case in cases}
        self._running |= set(futures)
        return self._ended(futures)

    def _ended(self, futures: dict[Future[_Outcome], Case]) -> Iterator[CaseRun]:
        for future in as_completed(futures):
            self._running.discard(future)
            case = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool:  # a worker died (killed, out of memory): its case, and those after, fail
                yield CaseRun(case, error="its worker process ended before the case did")
                continue
            except Exception as exc:  # what the case did could not come back (not picklable): a bug of ours
                yield CaseRun(case, error=f"{type(exc).__name__}: {exc}")
                continue
            if outcome.requests is not None and self.settings.watcher is not None:
                outcome.requests.tell(self.settings.watcher)
            yield CaseRun(case, outcome.account, outcome.steps, outcome.grades, outcome.error, outcome.seconds)

    def close(self) -> None:
        if any(not future.done() for future in self._running):  # interrupted: stop the workers' cases now
            self._pool.shutdown(wait=False, cancel_futures=True)
            for child in multiprocessing.active_children():
                child.terminate()
        self._pool.shutdown(wait=True)
