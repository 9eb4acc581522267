"""What the demo does to the pipeline: a webhook endpoint, a sample import, and a short live order story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from infra.settings import REPO_ROOT

SAMPLE_FILE = REPO_ROOT / "examples" / "orders.ndjson"
CORRELATION_ID = "demo"


WEBHOOK_EVENTS = ("OrderConfirmed", "OrderCancelled")
"""What the demo's endpoint subscribes to: the story's decisions, not the imported orders' creations."""


def register_webhook(operator: httpx.Client, url: str, secret: str) -> str:
    """An endpoint for `WEBHOOK_EVENTS`, signed with `secret` (the receiver verifies with the same)."""
    body = {"url": url, "secret": secret, "eventTypes": list(WEBHOOK_EVENTS), "description": "cqrs demo receiver"}
    response = operator.post("/webhooks", json=body)
    response.raise_for_status()
    return str(response.json()["id"])


def remove_webhook(operator: httpx.Client, endpoint_id: str) -> None:
    """The receiver lives only as long as the demo: a later run registers its own."""
    operator.delete(f"/webhooks/{endpoint_id}")


def import_sample(staff: httpx.Client, console: Console, path: Path = SAMPLE_FILE) -> tuple[int, int, int]:
    """(applied now, applied by an earlier run, rejected): the keys are fixed, so a second demo changes nothing."""
    from writer.importer import run_import

    summary = run_import(path, staff, console, chunk_lines=100)
    return summary.accepted, summary.replayed, len(summary.rejected)


def post_commands(staff: httpx.Client) -> list[dict[str, Any]]:
    """A short order story: create, add an item, confirm; a second order created and cancelled."""
    responses = []

    def send(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = staff.post(path, json=body, headers={"X-Correlation-ID": CORRELATION_ID})
        response.raise_for_status()
        accepted: dict[str, Any] = response.json()
        responses.append({"command": path.rsplit("/", 1)[-1], **accepted, "location": response.headers["location"]})
        return accepted

    item = {"sku": "MUG-BLUE", "name": "Blue ceramic mug", "quantity": 2, "unitPrice": "12.50"}
    first = send("/commands/create-order", {"customerId": "alice", "currency": "EUR", "items": [item]})
    extra = {"sku": "TEA-GREEN", "name": "Green tea, 100 g", "quantity": 1, "unitPrice": "7.90"}
    send("/commands/add-item-to-order", {"orderId": first["aggregateId"], "item": extra, "expectedVersion": 1})
    send("/commands/confirm-order", {"orderId": first["aggregateId"], "expectedVersion": 2})
    second = send("/commands/create-order", {"customerId": "bob", "currency": "USD", "items": [item]})
    send("/commands/cancel-order", {"orderId": second["aggregateId"], "reason": "changed my mind"})
    return responses
