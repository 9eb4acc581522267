"""A pregenerated, always-valid command mix for an open-loop attack by vegeta (`cqrs bench e2e`'s sustainable rate).

Vegeta sends each request once at its due time and does not read answers, so nothing may depend on an earlier
answer: create-order lets the writer name the order, and add-item and confirm go to orders seeded just before the
attack, without `expectedVersion`. Two disjoint pools keep every command valid in any arrival order: orders that only
take items (round robin, far below the line limit) and orders that are confirmed exactly once (a confirmed order would
refuse a later item with 409).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from cqrs.bench.loadgen import Request

SHARES = {"create-order": 0.40, "add-item-to-order": 0.45, "confirm-order": 0.15}
"""The mix by command; every command appends exactly one event, so commands/s = events/s."""
ITEMS_PER_ORDER = 20
"""Most items one seeded order takes during an attack (the writer allows 100 lines)."""


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """`kinds[i]` is the i-th command of the attack; the seeded pools it needs follow from the counts."""

    kinds: tuple[str, ...]

    @classmethod
    def for_load(cls, rate: int, seconds: float, seed: int = 1) -> CommandPlan:
        rng = random.Random(seed)
        names, weights = list(SHARES), list(SHARES.values())
        return cls(tuple(rng.choices(names, weights, k=round(rate * seconds))))

    @property
    def confirms(self) -> int:
        return self.kinds.count("confirm-order")

    @property
    def item_orders(self) -> int:
        """Seeded orders that take the add-item commands (ITEMS_PER_ORDER each at most)."""
        return -(-self.kinds.count("add-item-to-order") // ITEMS_PER_ORDER)

    @property
    def seeds(self) -> int:
        return self.confirms + self.item_orders

    def requests(self, seeded: list[str]) -> Iterator[Request]:
        """The attack's requests, in order; `seeded` are at least `seeds` pending orders with one line or more."""
        if len(seeded) < self.seeds:
            raise ValueError(f"the plan needs {self.seeds} seeded orders, got {len(seeded)}")
        to_confirm = iter(seeded[: self.confirms])
        takers = seeded[self.confirms : self.seeds]
        rng = random.Random(len(self.kinds))
        added = 0
        for kind in self.kinds:
            body: dict[str, object]
            if kind == "create-order":
                items = [_item(rng) for _ in range(rng.randint(1, 3))]
                body = {"customerId": f"customer-{rng.randint(1, 200)}", "currency": "EUR", "items": items}
            elif kind == "add-item-to-order":
                body = {"orderId": takers[added % len(takers)], "item": _item(rng)}
                added += 1
            else:
                body = {"orderId": next(to_confirm)}
            headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
            yield Request("POST", f"/commands/{kind}", headers, json.dumps(body).encode())


def _item(rng: random.Random) -> dict[str, object]:
    sku = f"SKU-{rng.randrange(40):03d}"
    price = f"{rng.randint(1, 200)}.{rng.randint(0, 99):02d}"
    return {"sku": sku, "name": f"Item {sku}", "quantity": rng.randint(1, 5), "unitPrice": price}
