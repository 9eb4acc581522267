"""Builds realistic event histories of orders, the way the writer would emit them (for tests only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from schemas.events import (
    LineItem,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEvent,
    OrderItemAdded,
    OrderItemRemoved,
    OrderShipped,
    OrderStatus,
    ShippingAddress,
)
from streams.records import Record

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def line(sku: str, quantity: int = 1, price: str = "10.00", name: str | None = None) -> LineItem:
    return LineItem(
        item_id=str(uuid.uuid4()), sku=sku, name=name or f"Product {sku}", quantity=quantity, unit_price=Decimal(price)
    )


@dataclass
class History:
    """One order's events: each call emits the next event (next version, sequence 0) and returns it."""

    order_id: str = field(default_factory=lambda: f"order-{uuid.uuid4().hex[:12]}")
    customer_id: str = "customer-1"
    currency: str = "EUR"
    at: datetime = START
    version: int = 0
    items: list[LineItem] = field(default_factory=list)
    status: OrderStatus = OrderStatus.PENDING
    events: list[EventEnvelope] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((i.quantity * i.unit_price for i in self.items), start=Decimal("0.00"))

    def _emit(self, data: OrderEvent, sequence: int = 0) -> EventEnvelope:
        if sequence == 0:
            self.version += 1
            self.at += timedelta(seconds=1)
        envelope = EventEnvelope(
            event_id=uuid.uuid4(),
            aggregate_type="Order",
            aggregate_id=self.order_id,
            version=self.version,
            sequence=sequence,
            timestamp=self.at,
            correlation_id=f"corr-{self.order_id}",
            causation_id=str(uuid.uuid4()),
            data=data,
        )
        self.events.append(envelope)
        return envelope

    def created(self, *items: LineItem, address: ShippingAddress | None = None) -> EventEnvelope:
        self.items = list(items) or [line("SKU-1", 2, "12.50")]
        return self._emit(
            OrderCreated(
                customer_id=self.customer_id,
                currency=self.currency,
                items=tuple(self.items),
                total=self.total,
                status=OrderStatus.PENDING,
                shipping_address=address,
            )
        )

    def added(self, item: LineItem | None = None, sequence: int = 0) -> EventEnvelope:
        item = item or line(f"SKU-{len(self.items) + 10}")
        self.items.append(item)
        return self._emit(OrderItemAdded(item=item, total=self.total, currency=self.currency), sequence)

    def removed(self, index: int = 0) -> EventEnvelope:
        item = self.items.pop(index)
        return self._emit(
            OrderItemRemoved(
                item_id=item.item_id,
                sku=item.sku,
                quantity=item.quantity,
                unit_price=item.unit_price,
                total=self.total,
                currency=self.currency,
            )
        )

    def confirmed(self) -> EventEnvelope:
        self.status = OrderStatus.CONFIRMED
        return self._emit(
            OrderConfirmed(customer_id=self.customer_id, status=self.status, total=self.total, currency=self.currency)
        )

    def shipped(self) -> EventEnvelope:
        self.status = OrderStatus.SHIPPED
        return self._emit(
            OrderShipped(customer_id=self.customer_id, status=self.status, total=self.total, currency=self.currency)
        )

    def cancelled(self, reason: str = "changed my mind") -> EventEnvelope:
        previous, self.status = self.status, OrderStatus.CANCELLED
        return self._emit(
            OrderCancelled(
                customer_id=self.customer_id,
                reason=reason,
                previous_status=previous,
                status=self.status,
                total=self.total,
                currency=self.currency,
            )
        )


def with_position(envelope: EventEnvelope, version: int, sequence: int = 0) -> EventEnvelope:
    """The same event claiming another position (to fake gaps)."""
    return replace(envelope, version=version, sequence=sequence)


def sample_histories(count: int, *, seed: int = 7) -> list[History]:
    """Orders with varied lives: created, items added/removed, confirmed, shipped or cancelled."""
    import random

    rng = random.Random(seed)
    histories = []
    for n in range(count):
        history = History(
            customer_id=f"customer-{n % 17}",
            currency=rng.choice(["EUR", "USD", "GBP"]),
            at=START + timedelta(minutes=n),
        )
        history.created(
            *[
                line(f"SKU-{rng.randint(1, 40)}", rng.randint(1, 5), f"{rng.randint(100, 99999) / 100:.2f}")
                for _ in range(rng.randint(1, 3))
            ]
        )
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.7 or len(history.items) < 2:
                history.added(
                    line(f"SKU-{rng.randint(1, 40)}", rng.randint(1, 5), f"{rng.randint(100, 99999) / 100:.2f}")
                )
            else:
                history.removed(rng.randrange(len(history.items)))
        fate = rng.random()
        if fate < 0.6:
            history.confirmed()
            if fate < 0.4:
                history.shipped()
            elif fate < 0.5:
                history.cancelled("out of stock")
        elif fate < 0.75:
            history.cancelled()
        histories.append(history)
    return histories


def as_records(
    envelopes: list[EventEnvelope], *, topic: str = "events.Order", partition: int = 0, start: int = 0
) -> list[Record]:
    """Envelopes as the Kafka records the outbox router would produce (Avro single-object values)."""
    return [
        Record(
            topic=topic,
            partition=partition,
            offset=start + n,
            key=envelope.aggregate_id.encode(),
            value=encode_envelope(envelope),
            timestamp_ms=int(envelope.timestamp.timestamp() * 1000),
            headers=(
                ("eventId", str(envelope.event_id).encode()),
                ("eventType", envelope.event_type.encode()),
                ("version", str(envelope.version).encode()),
                ("sequence", str(envelope.sequence).encode()),
            ),
        )
        for n, envelope in enumerate(envelopes)
    ]


def raw_record(key: str, value: bytes, *, topic: str = "events.Order", partition: int = 0, offset: int = 0) -> Record:
    return Record(topic, partition, offset, key.encode(), value, 1_740_000_000_000, ())
