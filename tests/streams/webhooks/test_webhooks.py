"""Outbound webhooks end to end: writer → Debezium → events.Order → delivery agent → signed POSTs to receivers."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from cqrs.apps import pipeline_stack
from infra.stack import Stack
from streams.webhooks.cli import app as webhooks_cli
from streams.webhooks.receiver import Receiver
from streams.webhooks.signature import new_secret
from tests.servers import free_port
from tests.streams.webhooks.agent import AgentThread, agent_settings

pytestmark = pytest.mark.stack


@pytest.fixture(autouse=True, scope="module")
def no_stack_agent(relay: Stack) -> Iterator[None]:
    """The stack's own agent (the demo starts it) reads the same endpoint registry: it would deliver to this module's
    receivers too, and its attempts would count with the agent under test's. It is stopped here, and started again."""
    agent = pipeline_stack(relay.settings, ["webhooks"])
    running = agent.status()[0].pid is not None
    if running:
        agent.down()
    yield
    if running:
        agent.up()


def order_story(staff: httpx.Client, stories: int) -> dict[str, list[str]]:
    """Create, add an item, confirm (every other order: cancel instead); order id → its event ids in order."""
    events: dict[str, list[str]] = {}
    item = {"sku": "HOOK-2", "name": "Hook", "quantity": 1, "unitPrice": "3.50"}
    for index in range(stories):
        created = _command(staff, "create-order", {
            "customerId": "webhook-tests", "currency": "EUR",
            "items": [{"sku": "HOOK-1", "name": "Hook", "quantity": 2, "unitPrice": "7.25"}],
        })  # fmt: skip
        order_id = created["aggregateId"]
        later = [_command(staff, "add-item-to-order", {"orderId": order_id, "item": item})]
        if index % 2:
            later.append(_command(staff, "cancel-order", {"orderId": order_id, "reason": "test"}))
        else:
            later.append(_command(staff, "confirm-order", {"orderId": order_id}))
        events[order_id] = [event for accepted in (created, *later) for event in _event_ids(staff, accepted)]
    return events


def _command(client: httpx.Client, name: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/commands/{name}", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json())


def _event_ids(client: httpx.Client, accepted: dict[str, Any]) -> list[str]:
    outcome = client.get(f"/commands/{accepted['commandId']}").json()
    return [event["eventId"] for event in outcome["events"]]


def register(operator: httpx.Client, url: str, secret: str, event_types: list[str] | None = None) -> str:
    body: dict[str, Any] = {"url": url, "secret": secret, "description": "test receiver"}
    if event_types is not None:
        body["eventTypes"] = event_types
    response = operator.post("/webhooks", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_webhooks_api_is_for_operators_only(staff: httpx.Client, operator: httpx.Client) -> None:
    assert staff.post("/webhooks", json={"url": "http://127.0.0.1:1/x"}).status_code == 403
    assert staff.get("/webhooks").status_code == 403
    created = operator.post("/webhooks", json={"url": "http://127.0.0.1:1/x", "eventTypes": ["OrderShipped"]})
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    listed = {item["id"]: item for item in operator.get("/webhooks").json()["data"]}
    assert "secret" not in listed[endpoint["id"]]
    assert listed[endpoint["id"]]["eventTypes"] == ["OrderShipped"]
    assert operator.delete(f"/webhooks/{endpoint['id']}").status_code == 204
    assert operator.get(f"/webhooks/{endpoint['id']}").status_code == 404
    assert operator.delete(f"/webhooks/{endpoint['id']}").status_code == 404
    bad = operator.post("/webhooks", json={"url": "ftp://x", "eventTypes": ["Nope"], "secret": "plain"})
    assert bad.status_code == 422
    assert {error["field"] for error in bad.json()["errors"]} == {"url", "eventTypes[0]", "secret"}


def test_flaky_receiver_gets_every_event_signed_in_order_with_one_effect_per_webhook_id(
    staff: httpx.Client, operator: httpx.Client
) -> None:
    secret, filtered_secret = new_secret(), new_secret()
    with (
        Receiver(secret, fail_first=2) as flaky,
        Receiver(filtered_secret) as filtered,
        AgentThread(agent_settings(max_attempts=4)),
    ):
        endpoint = register(operator, flaky.url, secret)
        register(operator, filtered.url, filtered_secret, ["OrderCreated", "OrderCancelled"])
        events = order_story(staff, 4)
        expected = {event for ids in events.values() for event in ids}
        orders = set(events)
        assert flaky.wait_for(lambda: {e.webhook_id for e in flaky.effects_for(orders)} >= expected)
        created_or_cancelled = len(orders) + len(orders) // 2  # every other story cancels
        assert filtered.wait_for(lambda: len(filtered.effects_for(orders)) >= created_or_cancelled)

    received = flaky.effects_for(orders)
    assert sorted(effect.webhook_id for effect in received) == sorted(expected)  # each exactly once
    assert flaky.rejected_signatures == 0
    assert all(flaky.attempts[event] == 3 for event in expected)  # two refused, then accepted: retried
    assert all(flaky.successes[event] == 1 for event in expected)
    for order_id, event_ids in events.items():
        assert [e.webhook_id for e in received if e.event["aggregateId"] == order_id] == event_ids  # in order
    assert all(effect.event["eventId"] == effect.webhook_id for effect in received)
    assert {effect.event["eventType"] for effect in filtered.effects_for(orders)} == {"OrderCreated", "OrderCancelled"}
    log = operator.get(f"/webhooks/{endpoint}/deliveries", params={"limit": 1000}).json()
    outcomes = defaultdict(list)
    for entry in log["data"]:
        outcomes[entry["eventId"]].append(entry["outcome"])
    assert all(sorted(outcomes[event]) == ["delivered", "failed", "failed"] for event in expected)
    assert log["parked"] == 0


def test_dead_endpoint_parks_while_a_healthy_one_keeps_receiving_then_replay_delivers_in_order(
    staff: httpx.Client, operator: httpx.Client, orders_database_url: str
) -> None:
    dead_port = free_port()
    secret = new_secret()
    settings = agent_settings(max_attempts=3, suspend_after=2, suspend_s=300)
    with Receiver(secret) as healthy, AgentThread(settings):
        dead = register(operator, f"http://127.0.0.1:{dead_port}/hooks", secret)
        register(operator, healthy.url, secret)
        events = order_story(staff, 4)
        expected = {event for ids in events.values() for event in ids}
        assert healthy.wait_for(lambda: {e.webhook_id for e in healthy.effects_for(set(events))} >= expected)
        assert healthy.wait_for(lambda: _parked(orders_database_url, dead) >= expected)

    listed = CliRunner().invoke(webhooks_cli, ["dlq", "list", "--endpoint", dead, "--json"])
    assert listed.exit_code == 0, listed.output
    assert "held behind" in listed.output  # later events of an order wait behind its first parked one
    with Receiver(secret, port=dead_port) as revived:
        replayed = CliRunner().invoke(webhooks_cli, ["dlq", "replay", "--endpoint", dead])
        assert replayed.exit_code == 0, replayed.output
        received = revived.effects_for(set(events))
    for order_id, event_ids in events.items():
        assert [e.webhook_id for e in received if e.event["aggregateId"] == order_id] == event_ids
    assert _parked(orders_database_url, dead) == set()
    assert operator.get(f"/webhooks/{dead}/deliveries").json()["parked"] == 0


def _parked(database_url: str, endpoint_id: str) -> set[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT event_id FROM webhook_parked WHERE endpoint_id = %s", (uuid.UUID(endpoint_id),))
        return {str(event_id) for (event_id,) in rows}
