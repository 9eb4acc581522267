"""The receiver's side: `verify(secret, headers, body)` accepts a genuine, fresh delivery and raises otherwise.

    from streams.webhooks.verify import WebhookVerificationError, verify

    try:
        verify(secret, request.headers, await request.body())
    except WebhookVerificationError:
        return Response(status_code=400)
    # then deduplicate on the `webhook-id` header (the event's eventId): deliveries are at least once

Standard library only (plus `signature.py`), so a receiver can copy both files.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping

from streams.webhooks.signature import SIGNATURE_VERSION, secret_key, signature

DEFAULT_TOLERANCE_S = 300
"""How far `webhook-timestamp` may be from the receiver's clock; older is a replay, newer a forgery or bad clock."""


class WebhookVerificationError(Exception):
    """The delivery must be refused: its headers are missing, its signature wrong or its timestamp stale."""


class MissingHeaders(WebhookVerificationError):
    pass


class InvalidSignature(WebhookVerificationError):
    """No `v1` signature in `webhook-signature` matches the body: tampered, or signed with another secret."""


class StaleTimestamp(WebhookVerificationError):
    """`webhook-timestamp` is outside the tolerance: an old delivery replayed, or a clock far off."""


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> None:
    """Return if `body` was signed with `secret` within `tolerance_s` seconds of `now`; raise otherwise.

    `headers` may be any mapping; names are matched case-insensitively. The signature header may carry several
    space-separated signatures (during a secret rotation): one valid `v1` signature is enough.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        raw_timestamp = lowered["webhook-timestamp"]
        presented = lowered["webhook-signature"]
    except KeyError as missing:
        raise MissingHeaders(f"header {missing.args[0]} is missing") from None
    timestamp = _timestamp(raw_timestamp, tolerance_s, time.time() if now is None else now)
    expected = signature(secret_key(secret), message_id, timestamp, body).encode()
    for candidate in presented.split():
        version, _, _ = candidate.partition(",")
        # compare_digest: the time taken must not tell an attacker how much of a forged signature was right.
        if version == SIGNATURE_VERSION and hmac.compare_digest(candidate.encode(), expected):
            return
    raise InvalidSignature("no signature matches the body")


def _timestamp(raw: str, tolerance_s: int, now: float) -> int:
    if not raw.isascii() or not raw.isdigit():
        raise StaleTimestamp("webhook-timestamp is not a number of seconds")
    timestamp = int(raw)
    if abs(now - timestamp) > tolerance_s:
        raise StaleTimestamp(f"webhook-timestamp is {now - timestamp:.0f} s away from now (tolerance {tolerance_s} s)")
    return timestamp
