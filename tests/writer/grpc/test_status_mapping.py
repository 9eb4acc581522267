"""The writer's problems as gRPC statuses, for the refusals the live tests cannot provoke on demand (an unreachable
database, a full order, an id collision): the code, the ErrorInfo and the retry hint HTTP's problem carries."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from writer import domain
from writer.api.problems import problem_for
from writer.errors import RelayAtRisk, StoreUnavailable
from writer.grpc.status import field_path, status_for


def details(error: Exception) -> tuple[grpc.StatusCode, dict[str, object]]:
    status = status_for(problem_for(error), correlation_id="c-1")
    (key, raw), *_ = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    decoded = status_pb2.Status.FromString(raw)
    found: dict[str, object] = {}
    for detail in decoded.details:
        info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            found.update(reason=info.reason, domain=info.domain, **dict(info.metadata))
        elif detail.Unpack(retry):
            found["retry_s"] = retry.retry_delay.seconds
    assert decoded.code == status.code.value[0]
    return status.code, found


@pytest.mark.parametrize(
    ("error", "code", "reason", "retry_s"),
    [
        (StoreUnavailable("down"), grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE", 1),
        (RelayAtRisk("slot"), grpc.StatusCode.UNAVAILABLE, "RELAY_AT_RISK", 5),
        (domain.OrderAlreadyExists("o-1"), grpc.StatusCode.ALREADY_EXISTS, "ORDER_EXISTS", None),
        (domain.TooManyLines(100), grpc.StatusCode.FAILED_PRECONDITION, "TOO_MANY_LINES", None),
        (RuntimeError("a bug"), grpc.StatusCode.INTERNAL, "INTERNAL_ERROR", None),
    ],
)
def test_refusals_map_to_the_grpc_code_and_carry_the_problems_details(
    error: Exception, code: grpc.StatusCode, reason: str, retry_s: int | None
) -> None:
    mapped, found = details(error)
    assert (mapped, found["reason"], found["domain"], found["correlationId"]) == (code, reason, "cqrs-orders", "c-1")
    assert found.get("retry_s") == retry_s


def test_too_many_lines_names_the_limit() -> None:
    assert details(domain.TooManyLines(100))[1]["maxLines"] == "100"


def test_field_paths_are_the_proto_names_and_headers_their_metadata_keys() -> None:
    assert field_path("items[0].unitPrice") == "items[0].unit_price"
    assert field_path("shippingAddress.postalCode") == "shipping_address.postal_code"
    assert field_path("Idempotency-Key") == "idempotency-key"
