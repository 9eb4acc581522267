"""What the demo does to the pipeline: a webhook endpoint, a sample import, and a short live order story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import httpx
from rich.console import Console

from infra.settings import REPO_ROOT
from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc

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


def post_commands(staff: httpx.Client, grpc_target: str) -> list[dict[str, Any]]:
    """A short order story: create, add an item (over gRPC, the same command API on its own port), confirm; a second
    order created and cancelled."""
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
    added = _add_item_over_grpc(grpc_target, staff.headers["Authorization"], first["aggregateId"], extra, 1)
    responses.append({"command": "add-item-to-order (gRPC)", **added})
    send("/commands/confirm-order", {"orderId": first["aggregateId"], "expectedVersion": 2})
    second = send("/commands/create-order", {"customerId": "bob", "currency": "USD", "items": [item]})
    send("/commands/cancel-order", {"orderId": second["aggregateId"], "reason": "changed my mind"})
    return responses


def _add_item_over_grpc(
    target: str, authorization: str, order_id: str, item: dict[str, Any], expected_version: int
) -> dict[str, Any]:
    """`AddItemToOrder` of `cqrs.orders.v1.OrderCommands`: the answer as the HTTP 202's body and Location give it."""
    line = pb.OrderLine(sku=item["sku"], name=item["name"], quantity=item["quantity"], unit_price=item["unitPrice"])
    request = pb.AddItemToOrderRequest(order_id=order_id, item=line, expected_version=expected_version)
    metadata = (("authorization", authorization), ("x-correlation-id", CORRELATION_ID))
    with grpc.insecure_channel(target) as channel:
        added = pb_grpc.OrderCommandsStub(channel).AddItemToOrder(request, metadata=metadata, timeout=10)
    return {
        "commandId": added.command_id,
        "aggregateId": added.aggregate_id,
        "version": added.version,
        "location": added.location,
    }
