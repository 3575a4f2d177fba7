"""Where a run's calls go: the embedded emulator, an AWS account, or any AWS-compatible endpoint.

The first stage of the engine (imports no other engine module). A `Target` makes boto3 clients with
the settings every action relies on (standard retry mode, SigV4 for S3, path-style S3 addressing off
AWS), knows its partition and how the console would write an object's URL on it, and asks STS who the
caller is once, when first needed. `open_target` turns the command line's `--target` into one; the
embedded emulator is started here and stopped by `Target.close`.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from runner.errors import UsageError

Kind = Literal["emulator", "aws", "endpoint"]
DEFAULT_REGION = "us-east-1"
#: CloudTrail log files are delivered this long after the call on the embedded emulator (AWS: ~5 min).
EMULATOR_LOG_DELAY = 2.0
_FALLBACK_KEY = ("testing", "testing")  # what an emulator accepts when no credentials are configured


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
_LOADER_LOCK = threading.Lock()


def new_session(**options: Any) -> Any:
    """A boto3 Session whose service models come from one loader shared by the whole process.

    Each new botocore session would otherwise parse the same JSON models again (about 0.1 s a client):
    a run opens a handful of clients, but grading a class opens a session per student.
    """
    import boto3
    import botocore.loaders
    import botocore.session

    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
        core = botocore.session.get_session()
        core.register_component("data_loader", _LOADER)
        session = boto3.Session(botocore_session=core, **options)
        # boto3 appends its own data folder to the loader's search path on every Session.
        _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session

class Target:
    """A place to run a lab: a boto3 session plus where its requests go."""

    def __init__(self, kind: Kind, region: str, session: Any, endpoint: str | None = None,
                 emulator: Any = None, owns_emulator: bool = False) -> None:
        self.kind: Kind = kind
        self.region = region
        self.session = session
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.emulator = emulator  # the runner.emulator.Emulator behind an emulator target
        self._owns_emulator = owns_emulator
        self._identity: Identity | None = None
        # Called with every client this target makes, before its first call: grading registers its
        # read-only guard here, so that no client of a graded account escapes it.
        self.client_hooks: list[Callable[[Any], None]] = []

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
            probe = new_session(region_name=region)
            found = probe.get_credentials()
            credentials = (found.access_key, found.secret_key) if found is not None else _FALLBACK_KEY
            token = found.token if found is not None else None
        else:
            token = None
        session = new_session(aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1],
                              aws_session_token=token, region_name=region)
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

    def client(self, service: str, region: str | None = None) -> Any:
        """A new boto3 client for this target (the run context caches them per service and region)."""
        from botocore.config import Config

        options: dict[str, Any] = {
            # Standard mode retries throttling and 5xx with jittered backoff; ten attempts ride out
            # a throttled burst (AWS's own SDK guidance for control-plane calls).
            "retries": {"mode": "standard", "max_attempts": 10},
            "user_agent_extra": "labrunner",
            "connect_timeout": 10,
            "read_timeout": 60,
        }
        if service == "s3":
            # Presigned URLs and SSE-KMS objects need SigV4; emulators serve buckets on one host.
            options["signature_version"] = "s3v4"
            if self.endpoint is not None:
                options["s3"] = {"addressing_style": "path"}
        client = self.session.client(service, region_name=region or self.region, endpoint_url=self.endpoint,
                                     config=Config(**options))
        for hook in self.client_hooks:
            hook(client)
        return client

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

    def object_url(self, bucket: str, key: str) -> str:
        """What the S3 console's "Copy URL" gives for an object on this target."""
        quoted = urllib.parse.quote(key, safe="/~")
        if self.endpoint is not None:
            return f"{self.endpoint}/{bucket}/{quoted}"
        suffix = "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"
        if self.region == "us-east-1":
            return f"https://{bucket}.s3.{suffix}/{quoted}"
        return f"https://{bucket}.s3.{self.region}.{suffix}/{quoted}"

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
        return Target.aws(region, profile)
    if kind == "endpoint":
        assert url is not None
        return Target.at_endpoint(url, region)
    try:
        from runner.emulator import Emulator
    except ImportError as exc:  # pragma: no cover - the emulator ships with the runner
        raise UsageError(f"the embedded emulator is not available ({exc}); use --target URL") from None
    emulator = Emulator(host="127.0.0.1", port=0, log_delay=log_delay, region=region, faults=faults).start()
    return Target.for_emulator(emulator, region, owned=True)
