"""What a reader sees across a Redis restart (the `redis` chaos scenario): Redis is a cache, not the truth.

Two probes against the running read API, started the moment Redis is healthy again:

- an order applied before the restart, read with its `minVersion`: the mirror in Redis is gone, the store's document
  has that version, so the answer must come at once and fresh (not after the wait's timeout, marked stale);
- read-your-writes of new orders (`POST /orders`, then `GET` its `Location`): how long until an answer is fresh and
  woken by the projection's announcement again (quicker than the wait's timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import httpx

KNOWN_AT_ONCE_S = 0.5
"""A read the store can answer needs no wait: well under the 2 s default timeout."""
WOKEN_WITHIN_S = 1.0
"""An answer quicker than this was woken by an announcement, not released by the timeout."""
FRESH_AGAIN_BOUND_S = 10.0


@dataclass(slots=True)
class ReadsAfterRestart:
    known_order_s: float | None = None
    """How long the `minVersion` read of an order applied before the restart took."""
    known_order_fresh: bool = False
    fresh_again_s: float | None = None
    """From Redis healthy again to the first read-your-writes answer that is fresh and woken in time."""

    @property
    def ok(self) -> bool:
        return (
            self.known_order_fresh
            and self.known_order_s is not None
            and self.known_order_s < KNOWN_AT_ONCE_S
            and self.fresh_again_s is not None
            and self.fresh_again_s <= FRESH_AGAIN_BOUND_S
        )

    def row(self) -> dict[str, object]:
        return {
            "known order minVersion s": _rounded(self.known_order_s, 3),
            "known order fresh": "yes" if self.known_order_fresh else "no",
            "RYW fresh again s": _rounded(self.fresh_again_s, 1),
        }


async def probe(
    writer: httpx.AsyncClient, reader: httpx.AsyncClient, known: tuple[str, int], up_at: float, within_s: float = 30
) -> ReadsAfterRestart:
    """Both probes; `known` is (order, version) accepted well before the restart, `up_at` when Redis was back."""
    result = ReadsAfterRestart()
    order_id, version = known
    while result.known_order_s is None and time.monotonic() - up_at < within_s:
        with contextlib.suppress(httpx.TransportError):  # the read API itself is not what this scenario tests
            started = time.monotonic()
            response = await reader.get(f"/orders/{order_id}", params={"minVersion": version})
            result.known_order_s = time.monotonic() - started
            result.known_order_fresh = response.status_code == 200 and _fresh(response.json(), version)
        if result.known_order_s is None:
            await asyncio.sleep(0.2)
    while time.monotonic() - up_at < within_s:
        with contextlib.suppress(httpx.TransportError):  # a careful client, like the load's: try again
            accepted = await writer.post("/orders", json=_ORDER)
            if accepted.status_code == 202:
                started = time.monotonic()
                read = await reader.get(accepted.headers["location"])
                waited = time.monotonic() - started
                wanted = accepted.json()["version"]
                if read.status_code == 200 and waited < WOKEN_WITHIN_S and _fresh(read.json(), wanted):
                    result.fresh_again_s = time.monotonic() - up_at
                    break
        await asyncio.sleep(0.2)
    return result


def _fresh(body: dict[str, Any], version: int) -> bool:
    return body["meta"]["stale"] is False and int(body["data"]["version"]) >= version


def _rounded(value: float | None, digits: int) -> float | str:
    return round(value, digits) if value is not None else "no"


_ORDER = {
    "customerId": "chaos-redis",
    "currency": "EUR",
    "items": [{"sku": "CHAOS-R", "name": "Read-your-writes probe", "quantity": 1, "unitPrice": "1.00"}],
}
