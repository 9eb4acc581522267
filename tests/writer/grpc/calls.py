"""A test client of the gRPC command service: calls with metadata, answers with their metadata, refusals with their
rich details unpacked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.rpc import error_details_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from servicekit.principals import Role
from tests.writer.helpers import bearer
from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc
from writer.settings import WriterSettings


@dataclass(frozen=True, slots=True)
class Refusal:
    code: grpc.StatusCode
    message: str
    reason: str
    info: dict[str, str]
    violations: dict[str, str] = field(default_factory=dict)
    trailers: dict[str, str] = field(default_factory=dict)


class Commands:
    """`call(stub.CreateOrder, request, role=..., subject=...)` and `refusal(...)`, with a token of that role."""

    def __init__(self, channel: grpc.Channel, settings: WriterSettings) -> None:
        self.stub = pb_grpc.OrderCommandsStub(channel)
        self._settings = settings

    def metadata(
        self, role: Role | None = Role.STAFF, subject: str = "staff-1", key: str | None = None
    ) -> list[tuple[str, str]]:
        entries = [] if role is None else [("authorization", bearer(self._settings, role, subject))]
        return entries + ([] if key is None else [("idempotency-key", key)])

    def call(
        self, method: Callable[..., Any], request: Message, **who: Any
    ) -> tuple[pb.CommandAccepted, dict[str, str]]:
        """The answer and its initial metadata."""
        answer, call = method.with_call(request, metadata=self.metadata(**who), timeout=10)  # type: ignore[attr-defined]
        assert isinstance(answer, pb.CommandAccepted)
        return answer, {key: value for key, value in call.initial_metadata()}

    def refusal(self, method: Callable[..., Any], request: Message, *, metadata: Any = None, **who: Any) -> Refusal:
        """The call's error, which it must raise."""
        sent = self.metadata(**who) if metadata is None else metadata
        with pytest.raises(grpc.RpcError) as raised:
            method.with_call(request, metadata=sent, timeout=10)  # type: ignore[attr-defined]
        assert isinstance(raised.value, grpc.Call)
        return refusal_of(raised.value)


def refusal_of(error: grpc.Call) -> Refusal:
    status = rpc_status.from_call(error)
    assert status is not None, "no rich status details"
    info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
    violations: dict[str, str] = {}
    reason, metadata = "", {}
    for detail in status.details:
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad):
            violations = {violation.field: violation.description for violation in bad.field_violations}
    trailers = {key: value for key, value in error.trailing_metadata() or () if isinstance(value, str)}
    return Refusal(error.code(), error.details() or "", reason, metadata, violations, trailers)


def line(sku: str = "SKU-1", quantity: int = 2, unit_price: str = "19.99") -> pb.OrderLine:
    return pb.OrderLine(sku=sku, name="Widget", quantity=quantity, unit_price=unit_price)


def new_order(customer_id: str = "customer-1", **fields: Any) -> pb.CreateOrderRequest:
    return pb.CreateOrderRequest(**{"customer_id": customer_id, "currency": "EUR", "items": [line()], **fields})
