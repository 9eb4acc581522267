"""examples/subscriber.py, run as a subscriber would run it, against the real events.Order topic."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from infra.settings import REPO_ROOT
from infra.stack import Stack

pytestmark = pytest.mark.stack


def test_example_subscriber_prints_the_decoded_events_of_a_command_just_posted(
    staff: httpx.Client, relay: Stack
) -> None:
    since_ms = int(time.time() * 1000) - 1000
    body = {"customerId": "subscriber", "currency": "EUR", "items": [{"sku": "S-1", "name": "Sub", "quantity": 3,
            "unitPrice": "2.50"}]}  # fmt: skip
    created = staff.post("/commands/create-order", json=body).json()
    order_id = created["aggregateId"]
    confirmed = staff.post("/commands/confirm-order", json={"orderId": order_id}).json()
    expected = [
        event["eventId"] for accepted in (created, confirmed)
        for event in staff.get(f"/commands/{accepted['commandId']}").json()["events"]
    ]  # fmt: skip

    output = subprocess.run(
        [
            sys.executable, str(REPO_ROOT / "examples" / "subscriber.py"),
            "--bootstrap", f"127.0.0.1:{relay.settings.ports.kafka}", "--since-ms", str(since_ms),
            "--key", order_id, "--max-events", "2", "--idle-exit", "45",
        ],
        capture_output=True, text=True, timeout=90, check=True, cwd=REPO_ROOT,
    ).stdout  # fmt: skip

    events = [json.loads(line) for line in output.splitlines()]
    assert [event["eventId"] for event in events] == expected
    assert [(event["eventType"], event["version"]) for event in events] == [("OrderCreated", 1), ("OrderConfirmed", 2)]
    assert events[0]["data"]["total"] == "7.50"  # Avro decimal decoded exactly
    assert all(event["kafka"]["key"] == order_id == event["aggregateId"] for event in events)
    assert all(event["kafka"]["headers"]["eventId"] == event["eventId"] for event in events)
