"""The emulator process: moto's WSGI app (`dispatch.py`) behind `EmulatorMiddleware`, served on a loopback
port over persistent connections (`connections.py`), with a background thread that delivers CloudTrail
log files (`trail.py`) once they are due.

`Emulator` is what the runner and the tests start; `serve_forever` is `labrunner emulator`. Both take a
`FaultPlan` (`fault_plan.py`), whose throttling, server errors and latency `faults.py` injects ahead
of everything else.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType
from typing import Any, Self, TextIO

from runner.regions import DEFAULT_REGION

from . import authorization, cloudtrail, dynamodb, hint, iam, kms, s3, sns, sqs, sts
from .connections import Connections, handler_for
from .dispatch import dispatcher
from .fault_plan import FaultPlan
from .faults import FaultInjector, Sleep
from .identity import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY
from .locks import Locks
from .middleware import EmulatorMiddleware
from .model import Behaviour
from .trail import Recorder

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "123456789012"

# Rules run in this order: who is calling and what they may do first (`authorization`), then each
# service's own (order matters only between behaviours of one service).
BEHAVIOURS: tuple[Behaviour, ...] = (
    authorization.BEHAVIOUR, kms.BEHAVIOUR, s3.BEHAVIOUR, cloudtrail.BEHAVIOUR, sts.BEHAVIOUR, iam.BEHAVIOUR,
    sqs.BEHAVIOUR, sns.BEHAVIOUR, dynamodb.BEHAVIOUR,
)


class Emulator:
    """moto plus AWS behaviour, served over HTTP. moto's state is process-global: instances in one
    process share it (and `reset()` wipes it for all of them)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        log_delay: float = 5.0,
        region: str = DEFAULT_REGION,
        behaviours: Sequence[Behaviour] = BEHAVIOURS,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultPlan | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.host = host
        self.port = port
        self.log_delay = log_delay
        self.region = region
        self.behaviours = tuple(behaviours)
        self.faults = faults
        # `sleep` serves injected latency; tests pass a fake so that no test waits.
        self.injector = FaultInjector(faults, sleep) if faults is not None else None
        self.locks = Locks()
        self.recorder = Recorder(log_delay, self.locks, clock=clock)
        self._server: Any = None
        self._connections = Connections()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def start(self) -> Self:
        from werkzeug.serving import make_server

        # Faults come first, so a faulted request reaches neither another behaviour nor moto.
        chain = (self.injector.behaviour, *self.behaviours) if self.injector is not None else self.behaviours
        app = EmulatorMiddleware(
            dispatcher(), chain, self.recorder, self.region, self.locks
        )
        self._connections = Connections()
        handler = handler_for(self._connections)
        try:
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=handler)
        except SystemExit:
            # werkzeug exits the process when the port is taken; a caller should get an error instead.
            raise OSError(errno.EADDRINUSE, "address already in use") from None
        self.port = int(self._server.server_port)
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="emulator-http", daemon=True),
            threading.Thread(target=self._deliver_when_due, name="emulator-cloudtrail", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _deliver_when_due(self) -> None:
        tick = min(1.0, max(0.02, self.log_delay / 4))
        while not self._stopping.wait(tick):
            try:
                self.recorder.deliver_due()
            except Exception:
                log.exception("CloudTrail log delivery failed")

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else "::1" if self.host == "::" else self.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def environment(self) -> dict[str, str]:
        """Environment variables that point the AWS CLI or any SDK at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_KEY,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def deliver_logs_now(self) -> int:
        """Write every pending CloudTrail log file now; the number of files written."""
        return self.recorder.deliver_all()

    def reset(self) -> None:
        """Wipe all state, in every account: moto's stores, event history, pending log files."""
        from moto.moto_api._internal.models import moto_api_backend

        with self.locks.whole():
            moto_api_backend.reset()
            self.recorder.reset()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._connections.close()  # kept-alive clients: their next request finds the connection closed
            self._server = None
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def preload() -> None:
    """Import what serving each service with behaviours here takes (moto imports a service's modules on
    its first request), so that processes forked from this one later start their emulators warm and
    share those modules' memory (`runner.verify.pools`)."""
    import importlib

    from moto.moto_server import werkzeug_app  # noqa: F401 - what `Emulator.start` serves with

    for service in sorted({b.service for b in BEHAVIOURS if b.service != "*"}):
        importlib.import_module(f"moto.{service}.urls")


def serve_forever(host: str, port: int, log_delay: float, out: TextIO, faults: FaultPlan | None = None) -> int:
    """`labrunner emulator`: serve until SIGINT or SIGTERM, after printing how to point clients here
    and which faults it injects (`--faults`).

    Returns 0 once stopped, or 1 (with a one-line reason on `out`) if it cannot listen there.
    """
    import moto

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        emulator = Emulator(host=host, port=port, log_delay=log_delay, faults=faults).start()
    except OSError as error:
        print(f"labrunner emulator: cannot listen on {host}:{port}: {error.strerror or error}", file=out)
        out.flush()
        return 1
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)} if in_main else {}
    try:
        print(
            f"labrunner emulator: AWS (moto {moto.__version__}) at {emulator.endpoint}, "
            f"CloudTrail log files after {log_delay:g}s. Stop with Ctrl-C.",
            file=out,
        )
        if faults is not None:
            print(f"labrunner emulator: injecting faults: {faults.describe()} (--faults {faults}).", file=out)
        for line in hint.lines(emulator.endpoint, emulator.environment(), hint.installed_cli()):
            print(line, file=out)
        out.flush()
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("labrunner emulator: stopped.", file=out)
    out.flush()
    return 0
