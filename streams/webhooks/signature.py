"""Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over `{id}.{timestamp}.{body}`.

Standard library only, so a receiver can copy this file and `verify.py` as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
_B64 = "[A-Za-z0-9+/]"
SECRET_PATTERN = rf"^{SECRET_PREFIX}(?:(?:{_B64}{{4}}){{8,21}}(?:{_B64}{{2}}==)?|(?:{_B64}{{4}}){{8,20}}{_B64}{{3}}=)$"
"""What `secret_key` accepts, for the API document: the prefix, then base64 of 24 to 64 bytes."""
SIGNATURE_VERSION = "v1"
SECRET_BYTES = 24
"""192 random bits, the size Standard Webhooks' reference libraries generate."""


class InvalidSecret(ValueError):
    """A secret that is not `whsec_` followed by base64 of 24 to 64 bytes."""


def new_secret() -> str:
    """A fresh endpoint secret, as shown to the operator once: `whsec_<base64 of 24 random bytes>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_…` secret; `InvalidSecret` if it is malformed."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as error:
        raise InvalidSecret("a webhook secret is base64 after its prefix") from error
    if not 24 <= len(key) <= 64:
        raise InvalidSecret("a webhook secret holds 24 to 64 bytes")
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{message_id}.{timestamp}.{body}`, the value of `webhook-signature`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers a delivery carries; the id is the event's eventId, the same on every retry."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret_key(secret), message_id, timestamp, body),
    }
