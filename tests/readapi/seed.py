"""Order histories for the read API tests, spread over days, currencies, customers and statuses, plus a few orders
whose words the search tests look for; and what the events say the analytics must show."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.events import LineItem, OrderStatus, ShippingAddress
from streams.settings import StreamsSettings
from streams.topics import end_offsets
from tests.streams.history import START, History, line

CUSTOMERS = [f"customer-{n}" for n in range(6)]
SEARCH_CUSTOMER = "customer-search"
SCRIPT_NAME = '<script>alert("owned")</script> desk lamp & shade'


def varied_histories(count: int, *, seed: int = 5) -> list[History]:
    rng = random.Random(seed)

    def some_line() -> LineItem:
        return line(f"SKU-{rng.randint(1, 12)}", rng.randint(1, 4), f"{rng.randint(100, 9999) / 100:.2f}")

    histories = []
    for n in range(count):
        history = History(
            customer_id=CUSTOMERS[n % len(CUSTOMERS)],
            currency=rng.choice(["EUR", "USD", "GBP"]),
            at=START + timedelta(hours=9 * n, minutes=rng.randint(0, 59)),  # about 2.7 orders a day over 3 weeks
        )
        history.created(some_line())
        for _ in range(rng.randint(0, 2)):
            if rng.random() < 0.7 or len(history.items) < 2:
                history.added(some_line())
            else:
                history.removed(rng.randrange(len(history.items)))
        fate = rng.random()
        if fate < 0.6:
            history.confirmed()
            if fate < 0.35:
                history.shipped()
            elif fate < 0.45:
                history.cancelled("out of stock")
        elif fate < 0.75:
            history.cancelled()
        histories.append(history)
    return histories


def search_histories() -> dict[str, History]:
    """Orders with words to find: the blue mug matches `blue mug` best."""
    at = START + timedelta(days=30)
    blue = History(customer_id=SEARCH_CUSTOMER, currency="EUR", at=at)
    blue.created(
        line("MUG-BLUE", 2, "12.50", "Blue ceramic mug"),
        address=ShippingAddress(line1="1 Quay Street", city="Lisbon", postal_code="1100", country="PT"),
    )
    red = History(customer_id=SEARCH_CUSTOMER, currency="EUR", at=at + timedelta(minutes=1))
    red.created(line("MUG-RED", 1, "9.00", "Red enamel mug"))
    red.cancelled("found a blue one elsewhere")
    teapot = History(customer_id=SEARCH_CUSTOMER, currency="USD", at=at + timedelta(minutes=2))
    teapot.created(line("TEA-1", 1, "30.00", "Cast iron teapot"))
    teapot.confirmed()
    lamp = History(customer_id=SEARCH_CUSTOMER, currency="EUR", at=at + timedelta(minutes=3))
    lamp.created(line("LAMP-1", 1, "20.00", SCRIPT_NAME))  # markup in a name: highlights must not carry it live
    return {"blue": blue, "red": red, "teapot": teapot, "lamp": lamp}


@dataclass(frozen=True)
class Seeded:
    streams: StreamsSettings
    histories: list[History]
    search: dict[str, History]

    @property
    def everything(self) -> list[History]:
        return self.histories + list(self.search.values())


def expected_daily_revenue(histories: list[History]) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(day, currency) → orders and revenue of the orders not cancelled, from the events alone."""
    totals: dict[tuple[str, str], tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal("0.00")))
    for history in histories:
        if history.status is OrderStatus.CANCELLED:
            continue
        key = (history.events[0].timestamp.date().isoformat(), history.currency)
        orders, revenue = totals[key]
        totals[key] = (orders + 1, revenue + history.total)
    return dict(totals)


def expected_units(histories: list[History], *, first: str | None = None, last: str | None = None) -> dict[str, int]:
    """SKU → net units in the orders (created within the days) that are not cancelled."""
    units: dict[str, int] = defaultdict(int)
    for history in histories:
        day = history.events[0].timestamp.date().isoformat()
        if history.status is OrderStatus.CANCELLED or (first and day < first) or (last and day > last):
            continue
        for item in history.items:
            units[item.sku] += item.quantity
    return {sku: count for sku, count in units.items() if count > 0}


async def start_at_end(settings: StreamsSettings, group: str) -> None:
    """Commit the topic's end offsets for `group`: a worker of that group sees only events produced from now on
    (a sandbox following the shared `events.Order` must not replay its whole history)."""
    ends = await end_offsets(settings.kafka_bootstrap, settings.topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets = {TopicPartition(settings.topic, partition): end for partition, end in ends.items()}
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()
