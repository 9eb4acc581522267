"""A writer problem (`writer.api.problems`, the one mapping of every error) as a rich gRPC status.

The code follows the HTTP status, except where gRPC has a closer name (a stale expected version is ABORTED, an
existing order ALREADY_EXISTS). Every status carries an `ErrorInfo` (reason: the problem's slug in upper snake
case; metadata: its extensions and the correlation id); bad fields a `BadRequest`; a `Retry-After` a `RetryInfo`.
"""

from __future__ import annotations

import re
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2

# googleapis-common-protos ships .pyi files but no py.typed marker, so mypy will not read them.
from google.rpc import code_pb2, error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from servicekit.problems import Problem

DOMAIN = "cqrs-orders"

_BY_HTTP_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}
_BY_SLUG = {
    "version-conflict": grpc.StatusCode.ABORTED,  # a concurrency conflict: re-read, then retry (AIP-193)
    "order-exists": grpc.StatusCode.ALREADY_EXISTS,
}


def code_for(problem: Problem) -> grpc.StatusCode:
    return _BY_SLUG.get(problem.slug) or _BY_HTTP_STATUS.get(problem.status, grpc.StatusCode.INTERNAL)


def reason_for(slug: str) -> str:
    """`version-conflict` → `VERSION_CONFLICT` (ErrorInfo's reason is UPPER_SNAKE_CASE)."""
    return slug.upper().replace("-", "_")


def status_for(problem: Problem, *, correlation_id: str) -> grpc.Status:
    """The status to abort the call with; its details travel in the `grpc-status-details-bin` trailer."""
    code = code_for(problem)
    metadata = {key: _text(value) for key, value in problem.extensions.items()}
    metadata["correlationId"] = correlation_id
    details = [error_details_pb2.ErrorInfo(reason=reason_for(problem.slug), domain=DOMAIN, metadata=metadata)]
    if problem.errors:
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=field_path(error.field), description=error.message)
            for error in problem.errors
        ]
        details.append(error_details_pb2.BadRequest(field_violations=violations))
    if (retry_after := problem.headers.get("Retry-After", "")).isdigit():
        details.append(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=int(retry_after))))
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    message = f"{problem.title}: {problem.detail}"
    # google.rpc.Code has the same numbers as grpc.StatusCode.
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=packed)
    return rpc_status.to_status(status)


def field_path(field: str) -> str:
    """A problem's field as gRPC names it: `items[0].unitPrice` → `items[0].unit_price` (the proto field names), a
    header → its metadata key (`Idempotency-Key` → `idempotency-key`)."""
    if "-" in field:
        return field.lower()
    return _CAMEL_HUMP.sub(r"_\1", field).lower()


_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
