"""`GetCommand` over gRPC: the document `GET /commands/{commandId}` answers, with the same authorization."""

from __future__ import annotations

import uuid

import grpc
import httpx
import pytest
from google.protobuf.json_format import MessageToDict

from servicekit.principals import Role
from tests.writer.grpc.calls import Commands, new_order
from tests.writer.grpc.conftest import ServedWriter
from tests.writer.helpers import bearer
from writer.grpc.generated.orders.v1 import commands_pb2 as pb

pytestmark = pytest.mark.timeout(60)


def test_get_command_answers_what_the_http_route_answers(commands: Commands, served_writer: ServedWriter) -> None:
    created, _ = commands.call(commands.stub.CreateOrder, new_order("customer-7"), role=Role.CUSTOMER,
                               subject="customer-7")  # fmt: skip
    request = pb.GetCommandRequest(command_id=created.command_id)

    answer = commands.stub.GetCommand(
        request, metadata=tuple(commands.metadata(Role.CUSTOMER, "customer-7")), timeout=10
    )

    document = MessageToDict(answer)
    headers = {"Authorization": bearer(served_writer.settings, Role.CUSTOMER, "customer-7")}
    over_http = httpx.get(f"{served_writer.http_url}/commands/{created.command_id}", headers=headers, timeout=10).json()
    assert document["commandId"] == over_http["commandId"] == created.command_id
    assert document["aggregateId"] == created.aggregate_id
    assert document["status"] == "accepted"
    assert set(document) == set(over_http)  # the outcome's fields and `trace`
    assert set(document["trace"]["projections"]) == set(over_http["trace"]["projections"])


def test_get_command_is_refused_as_the_http_route_refuses(commands: Commands) -> None:
    created, _ = commands.call(commands.stub.CreateOrder, new_order("customer-8"), role=Role.CUSTOMER,
                               subject="customer-8")  # fmt: skip
    mine = pb.GetCommandRequest(command_id=created.command_id)
    someone_else = commands.refusal(commands.stub.GetCommand, mine, role=Role.CUSTOMER, subject="customer-9")
    unknown = commands.refusal(commands.stub.GetCommand, pb.GetCommandRequest(command_id=str(uuid.uuid4())))
    not_an_id = commands.refusal(commands.stub.GetCommand, pb.GetCommandRequest(command_id="nope"))
    anonymous = commands.refusal(commands.stub.GetCommand, mine, role=None)
    negative = commands.refusal(commands.stub.GetCommand, pb.GetCommandRequest(command_id=created.command_id,
                                                                              timeout_seconds=-1))  # fmt: skip
    assert [r.code for r in (someone_else, unknown, not_an_id)] == [grpc.StatusCode.NOT_FOUND] * 3
    assert someone_else.reason == "COMMAND_NOT_FOUND"
    assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "timeout_seconds" in negative.violations
