"""The gRPC command API on the real writer (uvicorn + its gRPC server, real Postgres): every command, every error
class with its rich details, idempotency, and one version sequence across HTTP and gRPC."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import httpx
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from pydantic import SecretStr

from servicekit.principals import Role
from tests.writer.grpc.calls import Commands, line, new_order
from tests.writer.grpc.conftest import ServedWriter
from tests.writer.helpers import bearer
from writer.domain.values import line_item_id
from writer.grpc.generated.orders.v1 import commands_pb2 as pb

pytestmark = pytest.mark.timeout(60)


def stored(served: ServedWriter, order_id: str) -> tuple[str, int]:
    with psycopg.connect(served.settings.database_url) as db:
        row = db.execute("SELECT status, version FROM orders WHERE id = %s", (order_id,)).fetchone()
    assert row is not None
    return row[0], row[1]


def test_every_command_is_accepted_and_advances_the_version_by_one(
    commands: Commands, served_writer: ServedWriter
) -> None:
    stub = commands.stub
    created, headers = commands.call(stub.CreateOrder, new_order(items=[line("A"), line("B")]))
    order = created.aggregate_id
    assert (created.status, created.version) == ("accepted", 1)
    assert created.location == f"/orders/{order}?minVersion=1"
    assert uuid.UUID(created.command_id)
    assert created.timestamp.seconds > 0
    assert headers["x-correlation-id"]
    assert "idempotent-replayed" not in headers

    added, _ = commands.call(stub.AddItemToOrder, pb.AddItemToOrderRequest(order_id=order, item=line("C")))
    removed, _ = commands.call(
        stub.RemoveItemFromOrder, pb.RemoveItemFromOrderRequest(order_id=order, item_id=line_item_id(order, 1, 0))
    )
    confirmed, _ = commands.call(stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=order, expected_version=3))
    shipped, _ = commands.call(stub.ShipOrder, pb.ShipOrderRequest(order_id=order))
    assert [a.version for a in (added, removed, confirmed, shipped)] == [2, 3, 4, 5]
    assert stored(served_writer, order) == ("shipped", 5)

    other = commands.call(stub.CreateOrder, new_order())[0].aggregate_id
    cancelled, _ = commands.call(stub.CancelOrder, pb.CancelOrderRequest(order_id=other, reason="changed my mind"))
    assert cancelled.version == 2
    assert stored(served_writer, other) == ("cancelled", 2)


def test_invalid_fields_are_invalid_argument_with_one_violation_each(commands: Commands) -> None:
    request = new_order(currency="", items=[line(unit_price="9.999"), line(quantity=0)])
    refusal = commands.refusal(commands.stub.CreateOrder, request)
    assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
    assert refusal.reason == "VALIDATION_FAILED"
    assert set(refusal.violations) == {"currency", "items[0].unit_price", "items[1].quantity"}

    no_item = commands.refusal(commands.stub.AddItemToOrder, pb.AddItemToOrderRequest(order_id="not-a-uuid"))
    assert no_item.code == grpc.StatusCode.INVALID_ARGUMENT
    assert set(no_item.violations) == {"order_id", "item"}

    bad_key = commands.refusal(commands.stub.CreateOrder, new_order(), key="two words")
    assert bad_key.violations.keys() == {"idempotency-key"}


def test_a_request_over_the_body_limit_is_resource_exhausted(commands: Commands, served_writer: ServedWriter) -> None:
    too_long = "x" * (served_writer.settings.max_body_bytes + 1)
    refused = commands.stub.CreateOrder.with_call
    with pytest.raises(grpc.RpcError) as raised:
        refused(new_order(too_long), metadata=tuple(commands.metadata()), timeout=10)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_unknown_orders_and_items_and_someone_elses_order_are_not_found(commands: Commands) -> None:
    stub = commands.stub
    nowhere = commands.refusal(stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=str(uuid.uuid4())))
    assert (nowhere.code, nowhere.reason) == (grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")

    order = commands.call(stub.CreateOrder, new_order("c-1"), role=Role.CUSTOMER, subject="c-1")[0].aggregate_id
    no_item = commands.refusal(stub.RemoveItemFromOrder, pb.RemoveItemFromOrderRequest(order_id=order, item_id="x"))
    assert (no_item.code, no_item.reason) == (grpc.StatusCode.NOT_FOUND, "ITEM_NOT_FOUND")
    # Its existence does not leak to another customer.
    hidden = commands.refusal(
        stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=order), role=Role.CUSTOMER, subject="c-2"
    )
    assert (hidden.code, hidden.reason) == (grpc.StatusCode.NOT_FOUND, "ORDER_NOT_FOUND")


def test_a_stale_expected_version_is_aborted_with_the_current_version(commands: Commands) -> None:
    stub = commands.stub
    order = commands.call(stub.CreateOrder, new_order())[0].aggregate_id
    commands.call(stub.AddItemToOrder, pb.AddItemToOrderRequest(order_id=order, item=line("B"), expected_version=1))
    refusal = commands.refusal(stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=order, expected_version=1))
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.ABORTED, "VERSION_CONFLICT")
    assert (refusal.info["currentVersion"], refusal.info["expectedVersion"]) == ("2", "1")
    assert refusal.info["correlationId"] == refusal.trailers["x-correlation-id"]

    # A state that forbids the command is a failed precondition naming the status.
    early = commands.refusal(stub.ShipOrder, pb.ShipOrderRequest(order_id=order))
    assert (early.code, early.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INVALID_TRANSITION")
    assert early.info["currentStatus"] == "pending"


def test_no_token_a_bad_scheme_or_a_bad_token_is_unauthenticated(
    commands: Commands, served_writer: ServedWriter
) -> None:
    create = commands.stub.CreateOrder
    missing = commands.refusal(create, new_order(), metadata=[])
    bad_scheme = commands.refusal(create, new_order(), metadata=[("authorization", "Basic dXNlcjpwYXNz")])
    forged = bearer(served_writer.settings.model_copy(update={"jwt_secret": SecretStr("x" * 40)}), Role.STAFF, "s")
    bad_token = commands.refusal(create, new_order(), metadata=[("authorization", forged)])
    for refusal in (missing, bad_scheme, bad_token):
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


def test_roles_that_may_not_are_permission_denied(commands: Commands) -> None:
    stub = commands.stub
    analyst = commands.refusal(stub.CreateOrder, new_order(), role=Role.ANALYST, subject="a-1")
    for_someone_else = commands.refusal(stub.CreateOrder, new_order("c-2"), role=Role.CUSTOMER, subject="c-1")
    order = commands.call(stub.CreateOrder, new_order("c-1"), role=Role.CUSTOMER, subject="c-1")[0].aggregate_id
    commands.call(stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=order), role=Role.CUSTOMER, subject="c-1")
    shipping = commands.refusal(stub.ShipOrder, pb.ShipOrderRequest(order_id=order), role=Role.CUSTOMER, subject="c-1")
    for refusal in (analyst, for_someone_else, shipping):
        assert (refusal.code, refusal.reason) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")


def test_a_retry_with_the_same_key_answers_the_first_answer(commands: Commands, served_writer: ServedWriter) -> None:
    key = str(uuid.uuid4())
    first, first_headers = commands.call(commands.stub.CreateOrder, new_order(), key=key)
    again, again_headers = commands.call(commands.stub.CreateOrder, new_order(), key=key)
    assert again == first
    assert again_headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first_headers
    assert stored(served_writer, first.aggregate_id) == ("pending", 1)


def test_the_same_key_with_another_request_is_refused(commands: Commands) -> None:
    key = str(uuid.uuid4())
    commands.call(commands.stub.CreateOrder, new_order(), key=key)
    refusal = commands.refusal(commands.stub.CreateOrder, new_order(items=[line(quantity=3)]), key=key)
    assert (refusal.code, refusal.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")


def http_client(served: ServedWriter, key: str | None = None) -> httpx.Client:
    headers = {"Authorization": bearer(served.settings, Role.STAFF, "staff-1")}
    return httpx.Client(base_url=served.http_url, headers=headers | ({"Idempotency-Key": key} if key else {}))


def test_a_key_used_over_http_replays_over_grpc(commands: Commands, served_writer: ServedWriter) -> None:
    key = str(uuid.uuid4())
    body = {"customerId": "customer-1", "currency": "EUR", "items": [{"sku": "SKU-1", "name": "Widget",
            "quantity": 2, "unitPrice": "19.99"}]}  # fmt: skip
    with http_client(served_writer, key) as http:
        first = http.post("/commands/create-order", json=body)
    assert first.status_code == 202, first.text
    again, headers = commands.call(commands.stub.CreateOrder, new_order(), key=key)
    assert (again.command_id, again.aggregate_id, again.version) == (
        first.json()["commandId"], first.json()["aggregateId"], 1
    )  # fmt: skip
    assert headers["idempotent-replayed"] == "true"


def test_http_and_grpc_commands_on_one_order_share_one_version_sequence(
    commands: Commands, served_writer: ServedWriter
) -> None:
    stub = commands.stub
    order = commands.call(stub.CreateOrder, new_order())[0].aggregate_id
    item = {"sku": "H", "name": "Over HTTP", "quantity": 1, "unitPrice": "1.00"}
    versions = [1]
    with http_client(served_writer) as http:
        for step in range(2):
            answer = http.post(f"/orders/{order}/items", json=item, headers={"If-Match": f'"{versions[-1]}"'})
            assert answer.status_code == 202, answer.text
            versions.append(answer.json()["version"])
            request = pb.AddItemToOrderRequest(order_id=order, item=line(f"G{step}"), expected_version=versions[-1])
            versions.append(commands.call(stub.AddItemToOrder, request)[0].version)
        stale = http.post(f"/orders/{order}/items", json=item, headers={"If-Match": '"4"'})
    assert versions == [1, 2, 3, 4, 5]
    assert stale.status_code == 409
    assert stale.json()["currentVersion"] == 5
    assert stored(served_writer, order) == ("pending", 5)


def test_health_checking_and_reflection_are_served(channel: grpc.Channel) -> None:
    checks: Any = health_pb2_grpc.HealthStub(channel)  # the stubs' types name no methods
    for service in ("", "cqrs.orders.v1.OrderCommands"):
        answer = checks.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {service.name for answer in answers for service in answer.list_services_response.service}
    assert {"cqrs.orders.v1.OrderCommands", "grpc.health.v1.Health"} <= names


def test_calls_are_counted_per_method_and_code_on_the_writers_metrics(
    commands: Commands, served_writer: ServedWriter
) -> None:
    commands.call(commands.stub.CreateOrder, new_order())
    commands.refusal(commands.stub.ConfirmOrder, pb.ConfirmOrderRequest(order_id=str(uuid.uuid4())))
    with httpx.Client(base_url=served_writer.http_url) as http:
        exposed = http.get("/metrics").text
    assert 'writer_grpc_calls_total{code="OK",method="CreateOrder"}' in exposed
    assert 'writer_grpc_calls_total{code="NOT_FOUND",method="ConfirmOrder"}' in exposed
    assert 'writer_grpc_call_duration_seconds_count{code="OK",method="CreateOrder"}' in exposed
    assert 'writer_commands_total{command="confirm-order",outcome="order-not-found"}' in exposed
