"""Where a run's calls go: the embedded emulator, an AWS account, or any AWS-compatible endpoint.

The first stage of the engine (imports no other engine module). A `Target` makes boto3 clients with
the settings every action relies on (standard retry mode, SigV4 for S3, path-style S3 addressing off
AWS), knows its partition, where its calls go (botocore's endpoint resolution, `AWS_ENDPOINT_URL` and
all) and so an object's URL there, and asks STS who the caller is once, when first needed.
`open_target` turns the command line's `--target` into one; the embedded emulator is started here and
stopped by `Target.close`.
"""

from __future__ import annotations

import gc
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from runner.errors import UsageError

Kind = Literal["emulator", "aws", "endpoint"]
#: CloudTrail log files are delivered this long after the call on the embedded emulator (AWS: ~5 min).
EMULATOR_LOG_DELAY = 2.0
_FALLBACK_KEY = ("testing", "testing")  # what an emulator accepts when no credentials are configured
#: The host names of AWS's own endpoints (`s3.us-west-2.amazonaws.com`, China's `.amazonaws.com.cn`,
#: dual-stack `.api.aws`).
_AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


@dataclass(frozen=True)
class CallLimits:
    """How long one API call may take: botocore's timeouts and attempts. A call whose endpoint never
    answers costs about `max_attempts` x (`connect_timeout` + `read_timeout`), plus the backoff between
    attempts (standard mode: jittered, doubling, at most 20 s each)."""

    connect_timeout: float = 10
    read_timeout: float = 60
    # Standard mode retries throttling and 5xx with jittered backoff; ten attempts ride out a throttled
    # burst (AWS's own SDK guidance for control-plane calls).
    max_attempts: int = 10


@dataclass(frozen=True)
class Identity:
    """STS GetCallerIdentity: the `caller` namespace of templates."""

    account: str
    arn: str
    user_id: str


def partition_for(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"



_LOADER: Any = None
_HANDLERS: Any = None  # botocore's built-in event handlers, registered once (see new_session)
_EXCEPTIONS: Any = None  # the modelled exception classes of each service, made once (see new_session)
_LOADER_LOCK = threading.Lock()


def new_session(**options: Any) -> Any:
    """A boto3 Session that shares what is the same for every session of the process.

    - Service models come from one loader: each new botocore session would otherwise parse the same
      JSON models again (about 0.1 s a client). A run opens a handful of clients; grading a class
      opens a session per student.
    - botocore's built-in event handlers are registered once, into an emitter each session copies:
      registering them inspects every handler's signature (~16 ms a session, against ~1 ms for a copy).
      The handlers are module functions, bound to no session, so a copy is the same set.
    - Event names are aliased by `aliases.Aliaser`: botocore's own aliasing costs about 90 µs for each
      new event name of each client, some 35 ms in a run of the KMS lab.
    - The exception classes of each service (`client.exceptions`, made on the first error reply) come
      from one factory: it keys them by service name, and the models they are made from are shared.
    """
    import copy

    import boto3
    import botocore.errorfactory
    import botocore.loaders
    import botocore.session

    from runner.engine import aliases

    global _LOADER, _HANDLERS, _EXCEPTIONS
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
            _HANDLERS = botocore.session.Session()._original_handler
            _EXCEPTIONS = botocore.errorfactory.ClientExceptionsFactory()
        core = botocore.session.Session(event_hooks=copy.copy(_HANDLERS), include_builtin_handlers=False)
        aliases.install(core)
        core.register_component("data_loader", _LOADER)
        core._register_internal_component("exceptions_factory", _EXCEPTIONS)
        session = boto3.Session(botocore_session=core, **options)
        # boto3 appends its own data folder to the loader's search path on every Session.
        _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session


class Target:
    """A place to run a lab: a boto3 session plus where its requests go."""

    def __init__(self, kind: Kind, region: str, session: Any, endpoint: str | None = None,
                 emulator: Any = None, owns_emulator: bool = False, limits: CallLimits = CallLimits(),
                 identity: Identity | None = None) -> None:
        self.kind: Kind = kind
        self.limits = limits
        self.region = region
        self.session = session
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.emulator = emulator  # the runner.emulator.Emulator behind an emulator target
        self._owns_emulator = owns_emulator
        self._identity = identity  # known beforehand (verify's accounts), else asked of STS once
        # Called with every client this target makes, before its first call: grading registers its
        # read-only guard here (`add_client_hook`), so that no client of a graded account escapes it.
        self.client_hooks: list[Callable[[Any], None]] = []
        # One client per service and region: making one costs ~10 ms (handlers, endpoint rules).
        self._clients: dict[tuple[str, str], Any] = {}
        self._clients_lock = threading.Lock()

    # ---- construction

    @classmethod
    def aws(cls, region: str, profile: str | None = None) -> Target:
        from botocore.exceptions import ProfileNotFound

        try:
            session = new_session(profile_name=profile, region_name=region)
        except ProfileNotFound:
            raise UsageError(f"--profile: no AWS profile named '{profile}'") from None
        if session.get_credentials() is None:
            raise UsageError("no AWS credentials found; configure them (aws configure, AWS_PROFILE, "
                             "environment variables or SSO) or pass --profile")
        return cls("aws", region, session)

    @classmethod
    def at_endpoint(cls, url: str, region: str, kind: Kind = "endpoint", emulator: Any = None,
                    owns_emulator: bool = False, credentials: tuple[str, str] | None = None) -> Target:
        if credentials is None:
            # The caller's own credentials if any are configured (an emulator may check them); else
            # the placeholder every emulator accepts. Not the EC2 or container metadata services:
            # an emulator never takes those, and off EC2 asking them waits out a timeout (1 s a try).
            session = new_session(region_name=region)
            resolver = session._session.get_component("credential_provider")
            for metadata in ("container-role", "iam-role"):
                resolver.remove(metadata)
            if session.get_credentials() is None:
                session._session.set_credentials(*_FALLBACK_KEY)
        else:
            session = new_session(aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1],
                                  region_name=region)
        return cls(kind, region, session, url, emulator, owns_emulator)

    @classmethod
    def for_emulator(cls, emulator: Any, region: str, *, owned: bool = False) -> Target:
        """A target on a running `runner.emulator.Emulator` (closed with the target only if `owned`)."""
        from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY

        return cls.at_endpoint(emulator.endpoint, region, "emulator", emulator, owned,
                               (EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY))

    # ---- use

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    def add_client_hook(self, hook: Callable[[Any], None]) -> None:
        """Call `hook` with every client of this target: those already made, and those made later."""
        with self._clients_lock:
            if hook in self.client_hooks:
                return
            self.client_hooks.append(hook)
            for client in self._clients.values():
                hook(client)

    def client(self, service: str, region: str | None = None) -> Any:
        """This target's boto3 client for a service and region, made on first use (clients are thread-safe)."""
        where = region or self.region
        with self._clients_lock:
            client = self._clients.get((service, where))
            if client is None:
                client = self._clients[(service, where)] = self._new_client(service, where)
            return client

    def _new_client(self, service: str, region: str) -> Any:
        from botocore.config import Config

        options: dict[str, Any] = {
            "retries": {"mode": "standard", "max_attempts": self.limits.max_attempts},
            "user_agent_extra": "labrunner",
            "connect_timeout": self.limits.connect_timeout,
            "read_timeout": self.limits.read_timeout,
        }
        if service == "s3":
            # Presigned URLs and SSE-KMS objects need SigV4; emulators serve buckets on one host.
            options["signature_version"] = "s3v4"
            if self.endpoint is not None:
                options["s3"] = {"addressing_style": "path"}
        client = self.session.client(service, region_name=region, endpoint_url=self.endpoint,
                                     config=Config(**options))
        for hook in self.client_hooks:
            hook(client)
        return client

    def check_listening(self) -> None:
        """A `UsageError` unless something accepts a connection at the endpoint's host and port. Asked
        first of a URL from the command line: botocore retries a refused connection for some 25 s."""
        if self.endpoint is None:
            return
        where = urllib.parse.urlsplit(self.endpoint)
        try:
            socket.create_connection((where.hostname, where.port or (443 if where.scheme == "https" else 80)),
                                     timeout=self.limits.connect_timeout).close()
        except OSError as exc:
            raise UsageError(f"--target {self.endpoint}: nothing answers there ({exc.strerror or exc}); check the "
                             "URL, and that the emulator or endpoint is running") from None

    def identity(self) -> Identity:
        """Who the calls run as (STS GetCallerIdentity, asked once)."""
        if self._identity is None:
            reply = self.client("sts").get_caller_identity()
            self._identity = Identity(str(reply["Account"]), str(reply["Arn"]), str(reply["UserId"]))
        return self._identity

    @property
    def known_identity(self) -> Identity | None:
        """The identity if it was already asked for (the record never triggers a call)."""
        return self._identity

    def service_endpoint(self, service: str) -> str:
        """Where this target's calls to `service` go, as botocore resolved it for the client.

        That is, the first of: `--target URL`; `AWS_ENDPOINT_URL_<SERVICE>`; `AWS_ENDPOINT_URL`; the
        AWS config file's `endpoint_url` (of the service, then of the profile); else AWS's own.
        """
        return str(self.client(service).meta.endpoint_url).rstrip("/")

    def on_aws(self, service: str) -> bool:
        """Whether calls to `service` go to AWS itself, not to an endpoint the command line or config named."""
        if self.kind != "aws":
            return False
        host = urllib.parse.urlsplit(self.service_endpoint(service)).hostname or ""
        return host.endswith(_AWS_HOSTS)

    def object_url(self, bucket: str, key: str) -> str:
        """An object's URL where this target's S3 calls go: on AWS, what the S3 console's "Copy URL" gives
        (virtual-hosted, regional); on any other endpoint, path-style, as emulators serve buckets."""
        quoted = urllib.parse.quote(key, safe="/~")
        endpoint = self.service_endpoint("s3")
        if not self.on_aws("s3"):
            return f"{endpoint}/{bucket}/{quoted}"
        parts = urllib.parse.urlsplit(endpoint)
        return f"{parts.scheme}://{bucket}.{parts.netloc}/{quoted}"

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"{self.kind}{where}, region {self.region}"

    def close(self) -> None:
        if self._owns_emulator and self.emulator is not None:
            self.emulator.stop()
            self._owns_emulator = False


def parse_target(spec: str) -> tuple[Kind, str | None]:
    """`emulator`, `aws` or an http(s) URL; anything else is a usage error."""
    if spec == "emulator":
        return "emulator", None
    if spec == "aws":
        return "aws", None
    parts = urllib.parse.urlsplit(spec)
    if parts.scheme in ("http", "https") and parts.netloc:
        return "endpoint", spec
    raise UsageError(f"--target: '{spec}' is not 'emulator', 'aws' or an http(s) URL "
                     "such as http://127.0.0.1:4566")


def open_target(spec: str, region: str, profile: str | None = None,
                log_delay: float = EMULATOR_LOG_DELAY, faults: Any = None) -> Target:
    """Build the target the command line names; the embedded emulator is started now."""
    kind, url = parse_target(spec)
    if profile is not None and kind != "aws":
        raise UsageError("--profile applies to --target aws only")
    if faults is not None and kind != "emulator":
        raise UsageError("--faults applies to the embedded emulator; for a served one: labrunner emulator --faults")
    if kind == "aws":
        target = Target.aws(region, profile)
    elif kind == "endpoint":
        assert url is not None
        target = Target.at_endpoint(url, region)
    else:
        target = _start_emulator(region, log_delay, faults)
    freeze_start_up()
    return target


def _start_emulator(region: str, log_delay: float, faults: Any) -> Target:
    try:
        from runner.emulator import Emulator
    except ImportError as exc:  # pragma: no cover - the emulator ships with the runner
        raise UsageError(f"the embedded emulator is not available ({exc}); use --target URL") from None
    emulator = Emulator(host="127.0.0.1", port=0, log_delay=log_delay, region=region, faults=faults).start()
    return Target.for_emulator(emulator, region, owned=True)


_FROZEN = False


def freeze_start_up() -> None:
    """Exempt what exists now from the cyclic garbage collector's full collections, once per process.

    By the time a target is open, the process holds boto3, botocore's parsed models and, on the embedded
    emulator, moto: some 150,000 objects that live as long as the process. Each full collection walked
    them all (~100 ms, a few times in a run of the KMS lab on the emulator) to find nothing. Once is
    enough: what is frozen is never freed, so objects made by later runs in the same process (tests,
    the pytest plugin) stay collectable.
    """
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.freeze()
