"""What a failed attempt is called where users see it (the delivery log, the DLQ's reasons): a short category.

An exception's text may hold resolved addresses, internal host names or a proxy's answer; the log served by
`GET /webhooks/{id}/deliveries` is read by whoever may register endpoints, so it shows only these categories
(operators find the details in the agent's own log).
"""

from __future__ import annotations

import errno
import re
import ssl
from collections.abc import Iterator

import httpx

from streams.webhooks.errors import UnresolvableHost, UnsafeDestination

TIMEOUT = "timeout"
REFUSED = "connection refused"
TLS = "TLS error"
UNRESOLVED = "host not found"
FORBIDDEN = "destination not allowed"
CONNECTION = "connection error"
FAILED = "delivery failed"

# What may be shown as it is stored: the categories above, HTTP statuses, and the agent's own reasons for parking.
_PUBLIC = re.compile(
    r"(timeout|connection refused|TLS error|host not found|destination not allowed|connection error"
    r"|delivery failed|HTTP status \d{3}|deferred: .+ deadline"
    r"|held behind (an event of this order parked earlier|parked event [0-9a-f-]{36})"
    r"|endpoint suspended after repeated parked deliveries|not attempted|failed)"
)


def http_status(status: int) -> str:
    return f"HTTP status {status}"


def category(error: BaseException) -> str:
    """The category of an attempt's exception (httpx's, with the socket's or TLS's error as its cause)."""
    chain = list(_causes(error))
    if any(isinstance(cause, UnresolvableHost) for cause in chain):
        return UNRESOLVED
    if any(isinstance(cause, UnsafeDestination) for cause in chain):
        return FORBIDDEN
    if isinstance(error, httpx.TimeoutException):
        return TIMEOUT
    if any(isinstance(cause, ssl.SSLError | ssl.CertificateError) for cause in chain):
        return TLS
    if any(isinstance(cause, ConnectionRefusedError) for cause in chain) or "errno 111" in str(error).lower():
        return REFUSED
    if any(isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED for cause in chain):
        return REFUSED
    if "name or service not known" in str(error).lower() or "nodename nor servname" in str(error).lower():
        return UNRESOLVED
    if isinstance(error, httpx.TransportError):
        return CONNECTION
    return FAILED


def public(reason: str | None) -> str | None:
    """A stored error or reason as users may see it: itself if it is one of ours, else `delivery failed` (rows
    logged before the categories, or anything unexpected, never leak)."""
    if reason is None:
        return None
    return reason if _PUBLIC.fullmatch(reason) else FAILED


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
