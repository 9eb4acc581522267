"""A realistic command mix, chosen from what the client knows (the reference model), so every command is valid.

Orders are created, grow and shrink while pending, then are confirmed and shipped or cancelled. An order with a
command in flight is not chosen again until that command has a definite answer: commands of one order are
sequential, as one user's clicks are, and the writer's optimistic concurrency never has to refuse one of ours.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from cqrs.e2e.reference import Reference, ReferenceOrder

CURRENCIES = ("EUR", "USD", "GBP")
SKUS = tuple(f"SKU-{n:03d}" for n in range(40))
MAX_LINES = 12


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    body: dict[str, Any]
    order_id: str | None
    """None for create-order: the writer names the order."""
    idempotency_key: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def path(self) -> str:
        return f"/commands/{self.name}"


class CommandMix:
    def __init__(self, reference: Reference, seed: int = 1, create_share: float = 0.25) -> None:
        self._reference = reference
        self._rng = random.Random(seed)
        self._create_share = create_share
        self.in_flight: set[str] = set()
        self._live: list[str] = []
        """Orders that can still change (pending or confirmed), in creation order."""

    def next(self) -> Command:
        self._live = [o for o in self._live if self._reference.orders[o].status in ("pending", "confirmed")]
        idle = [o for o in self._live[-500:] if o not in self.in_flight]
        if not idle or self._rng.random() < self._create_share:
            return self._create()
        order = self._reference.orders[self._rng.choice(idle)]
        command = self._change(order)
        self.in_flight.add(order.order_id)
        return command

    def answered(self, command: Command, order_id: str | None) -> None:
        """The command has a definite answer; its order may be chosen again (a new one joins the pool)."""
        if command.order_id is not None:
            self.in_flight.discard(command.order_id)
        elif order_id is not None:
            self._live.append(order_id)

    def _create(self) -> Command:
        items = [self._item() for _ in range(self._rng.randint(1, 3))]
        body = {"customerId": f"customer-{self._rng.randint(1, 200)}", "currency": self._rng.choice(CURRENCIES)}
        return Command("create-order", body | {"items": items}, None)

    def _change(self, order: ReferenceOrder) -> Command:
        known = {"orderId": order.order_id, "expectedVersion": order.version}
        roll = self._rng.random()
        if order.status == "confirmed":
            if roll < 0.7:
                return Command("ship-order", known, order.order_id)
            return Command("cancel-order", known | {"reason": "out of stock"}, order.order_id)
        if roll < 0.45 and len(order.lines) < MAX_LINES:
            return Command("add-item-to-order", known | {"item": self._item()}, order.order_id)
        if roll < 0.65 and len(order.lines) > 1:
            item_id = self._rng.choice(order.lines).item_id
            return Command("remove-item-from-order", known | {"itemId": item_id}, order.order_id)
        if roll < 0.92:
            return Command("confirm-order", known, order.order_id)
        return Command("cancel-order", known | {"reason": "changed my mind"}, order.order_id)

    def _item(self) -> dict[str, Any]:
        sku = self._rng.choice(SKUS)
        price = f"{self._rng.randint(1, 200)}.{self._rng.randint(0, 99):02d}"
        return {"sku": sku, "name": f"Item {sku}", "quantity": self._rng.randint(1, 5), "unitPrice": price}
