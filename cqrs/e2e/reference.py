"""The reference model: what every read model must show, built only from the writer's 202 answers.

A client that got `202 {aggregateId, version}` for a command knows exactly what that command did (the item ids the
writer assigns are derived from order, version and index: `writer.domain.values.line_item_id`), so the expected
state of each order follows without reading any store. A read model that differs lost or doubled something.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from streams.peek import Shown
from writer.domain.values import line_item_id


@dataclass(frozen=True, slots=True)
class Line:
    item_id: str
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(slots=True)
class ReferenceOrder:
    order_id: str
    customer_id: str
    currency: str
    status: str = "pending"
    version: int = 0
    lines: list[Line] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00"))

    def shown(self) -> Shown:
        return Shown(self.version, self.status, self.total, tuple(line.sku for line in self.lines))


class UnexpectedVersion(AssertionError):
    """The writer answered a version that does not follow the one the client knew: something was lost or doubled."""


@dataclass(slots=True)
class Reference:
    orders: dict[str, ReferenceOrder] = field(default_factory=dict)
    accepted: int = 0

    def created(self, order_id: str, version: int, body: dict[str, object]) -> None:
        items = body["items"]
        assert isinstance(items, list)
        order = ReferenceOrder(order_id, str(body["customerId"]), str(body["currency"]))
        order.lines = [_line(line_item_id(order_id, 1, index), item) for index, item in enumerate(items)]
        self._advance(order, version, "pending")
        self.orders[order_id] = order

    def changed(self, command: str, order_id: str, version: int, body: dict[str, object]) -> None:
        order = self.orders[order_id]
        if command == "add-item-to-order":
            item = body["item"]
            assert isinstance(item, dict)
            order.lines.append(_line(line_item_id(order_id, version, 0), item))
        elif command == "remove-item-from-order":
            order.lines = [line for line in order.lines if line.item_id != body["itemId"]]
        status = {"confirm-order": "confirmed", "ship-order": "shipped", "cancel-order": "cancelled"}.get(command)
        self._advance(order, version, status or order.status)

    def _advance(self, order: ReferenceOrder, version: int, status: str) -> None:
        if version != order.version + 1:
            raise UnexpectedVersion(f"order {order.order_id}: answered v{version} after v{order.version}")
        order.version = version
        order.status = status
        self.accepted += 1

    def expected(self) -> dict[str, Shown]:
        return {order_id: order.shown() for order_id, order in self.orders.items()}

    def versions(self) -> set[tuple[str, int]]:
        """Every (order, version) the writer accepted: each must reach the event topic at least once."""
        return {(order_id, v) for order_id, order in self.orders.items() for v in range(1, order.version + 1)}


def _line(item_id: str, item: dict[str, object]) -> Line:
    quantity = item["quantity"]
    assert isinstance(quantity, int)
    return Line(item_id, str(item["sku"]), quantity, Decimal(str(item["unitPrice"])))
