"""Which values are secrets: the one definition that results, records, logs and reports all follow.

A leaf module. `plain` (turning a boto3 response into data) and the record's `Redactor` both ask
`is_secret_key`, so a value is hidden under the same keys wherever it travels.
"""

from __future__ import annotations

import functools

#: What a secret is replaced by.
REDACTED = "***"
#: Keys whose values are secrets in AWS responses and requests (data keys, credentials, passwords).
SECRET_KEYS = frozenset({"Plaintext", "SecretAccessKey", "SessionToken", "Password", "PrivateKey",
                         "SecretString", "SecretBinary", "NewPassword", "OldPassword"})
#: Key names (lowercase) whose values are secrets wherever they appear: exact names, then suffixes, then
#: prefixes (`PrivateKeyPlaintext` and `PrivateKeyPem` alike; `MasterUserPassword` from RDS).
_SECRET_NAMES = frozenset(k.lower() for k in SECRET_KEYS) | {"authorization", "aws_secret_access_key",
                                                             "aws_session_token"}
_SECRET_SUFFIXES = ("plaintext", "secretaccesskey", "sessiontoken", "password", "secretstring", "secretbinary")
_SECRET_PREFIXES = ("privatekey",)


@functools.lru_cache(maxsize=4096)  # a record repeats a few hundred key names thousands of times
def is_secret_key(key: str | None) -> bool:
    """Whether values under this key are secrets (`Plaintext`, `SecretAccessKey`, `PrivateKey*`...)."""
    if not key:
        return False
    lowered = key.lower()
    return lowered in _SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES) or lowered.startswith(_SECRET_PREFIXES)
