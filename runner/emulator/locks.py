"""Which requests the emulator serves side by side: one account's requests one at a time, different
accounts' at once.

moto's stores are plain dicts with no locks of their own, so a request must be alone in every account
whose store it may read or change. Each account has a lock (`Locks`); a request takes the locks of
every account it reaches, in sorted order, so two requests never wait on each other in a circle. The
accounts a request reaches (`accounts_named`): the one it acts in; every account id it carries (in an
ARN, a queue URL, an owner parameter); and those its service's `Behaviour.accounts` finds in the
stores (the owner of a bucket it names, the account of a KMS key a bucket encrypts with, the queues a
topic delivers to). What the stores say can change until their locks are held, so `Locks.named` looks
again once it holds them, and starts over with more locks if it finds more.

A few requests change what every account shares, and take the emulator whole:
- S3 CreateBucket and DeleteBucket: bucket names are global (moto's `s3_backends.bucket_accounts`);
- IAM and STS calls that are not reads: they make and remove the access keys and sessions from which
  every request's identity is read (`identity.py`; moto's `get_account_id_from` walks every account's);
- moto's own API (`/moto-api`: reset, state) and `Emulator.reset`.
`Gate` is the readers-writer lock between the two kinds: account-scoped requests share it, a
whole-emulator one holds it alone. Order, everywhere: the gate, then account locks, then the CloudTrail
recorder's lock (`trail.py`), which never waits on the others while held. Neither the gate nor a
request's account locks are taken twice by one thread. `middleware.py` takes them for each request;
`trail.py` for each log file delivery.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from runner import aws_models

from .model import Behaviour, Call

#: S3 operations that change the global namespace of bucket names.
_BUCKET_NAMES = frozenset({"CreateBucket", "DeleteBucket"})
#: How AWS names another account in a request: its 12-digit id (an ARN's, a queue URL's, an owner's).
_ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
#: Headers that may name another account: a copy's source, an SSE-KMS key, S3 Control's account.
_NAMING_HEADERS = ("x-amz-copy-source", "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-account-id")


class Gate:
    """A readers-writer lock that lets a waiting writer in first (so a stream of readers cannot starve it)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            while self._writer or self._writers_waiting:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                if not self._readers:
                    self._changed.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._changed:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._changed.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._changed:
                self._writer = False
                self._changed.notify_all()


class Locks:
    """The emulator's locks: the gate, and one lock per account, made when first asked for."""

    def __init__(self) -> None:
        self.gate = Gate()
        self._accounts: dict[str, threading.Lock] = {}
        self._made = threading.Lock()

    @contextmanager
    def whole(self) -> Iterator[None]:
        """The emulator to oneself: no other request runs meanwhile."""
        with self.gate.exclusive():
            yield

    @contextmanager
    def accounts(self, names: Iterable[str]) -> Iterator[None]:
        """These accounts to oneself, for a caller that holds the gate shared."""
        with self._made:
            locks = [self._accounts.setdefault(name, threading.Lock()) for name in sorted(set(names))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()

    @contextmanager
    def named(self, find: Callable[[], Iterable[str]]) -> Iterator[None]:
        """The accounts `find` names to oneself, for a caller that holds the gate shared. `find` reads the
        stores, which may change until their locks are held: it is asked again under them, and on finding
        more the locks are let go and taken again, more of them (in order: never one while holding a later one)."""
        names = set(find())
        while True:
            with self.accounts(names):
                more = set(find()) - names
                if not more:
                    yield
                    return
            names |= more


def whole_emulator(call: Call) -> bool:
    """Whether the call may change what every account shares (then it runs alone)."""
    if call.service == "s3":
        return call.operation in _BUCKET_NAMES
    if call.service in ("iam", "sts"):
        return not aws_models.is_read_only(call.service, call.operation)
    return False


def accounts_named(call: Call, behaviours: Sequence[Behaviour]) -> set[str]:
    """Every account whose store the call may touch: the one it acts in, every account id it carries, and
    those its behaviours find (`Behaviour.accounts`)."""
    carried = [call.path, call.raw_query, *(call.header(name) or "" for name in _NAMING_HEADERS)]
    if call.service != "s3":  # S3's parameters are the query and the URI, already read
        carried.append(json.dumps(call.params, default=str))
    found = {call.account_id, *_ACCOUNT_ID.findall(" ".join(carried))}
    for behaviour in behaviours:
        if behaviour.accounts is not None:
            found.update(behaviour.accounts(call))
    return found
