"""The stack's writer app (`cqrs stack up writer`) serves gRPC on its own port beside HTTP, and a command sent over
gRPC takes the same way to Kafka as one sent over HTTP: the outbox, Debezium, `events.Order`."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connectors.tail import EventsTail
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.writer.grpc.calls import new_order
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc
from writer.settings import WriterSettings


def test_the_stack_writer_serves_grpc_and_its_commands_reach_events_order(relay: Stack, tail: EventsTail) -> None:
    token = mint_token(WriterSettings(), subject="grpc-stack", roles=[Role.STAFF])
    correlation_id = f"grpc-{uuid.uuid4()}"
    metadata = (("authorization", f"Bearer {token}"), ("x-correlation-id", correlation_id))
    with grpc.insecure_channel(f"127.0.0.1:{relay.settings.ports.writer_grpc}") as channel:
        checks: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' types name no methods
        serving = checks.Check(health_pb2.HealthCheckRequest(service="cqrs.orders.v1.OrderCommands"), timeout=10)
        assert serving.status == health_pb2.HealthCheckResponse.SERVING
        accepted = pb_grpc.OrderCommandsStub(channel).CreateOrder(new_order(), metadata=metadata, timeout=10)

    [event] = tail.collect(lambda events: any(e.key == accepted.aggregate_id for e in events), 60)
    assert event.envelope.event_type == "OrderCreated"
    assert event.envelope.version == accepted.version == 1
    assert event.envelope.causation_id == accepted.command_id
    assert event.headers["correlationId"] == correlation_id
