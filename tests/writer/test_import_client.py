"""The `cqrs import` client's back-pressure, unit-tested against a fake writer (httpx.MockTransport): at most
`in_flight` requests at once, a chunk naming an order still in flight waits for it, line numbers are the file's,
and a busy writer's 429 is waited out."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from writer.importer import import_lines

ORDER_A, ORDER_B = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


def command(order_id: str | None, n: int) -> str:
    if order_id is None:
        body = {"customerId": "c", "currency": "EUR", "items": []}
        return json.dumps({"command": "create-order", "idempotencyKey": f"k{n}", "body": body})
    return json.dumps({"command": "confirm-order", "idempotencyKey": f"k{n}", "body": {"orderId": order_id}})


class FakeWriter:
    """Answers every line accepted after `delay(chunk)` seconds; records when each request ran."""

    def __init__(self, slow_order: str) -> None:
        self.slow_order = slow_order
        self.spans: list[tuple[str, float, float]] = []
        self.running = 0
        self.most_running = 0
        self.busy_once = True

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        if self.busy_once:
            self.busy_once = False
            return httpx.Response(429, headers={"retry-after": "0"}, json={"detail": "busy"})
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        started = time.monotonic()
        await asyncio.sleep(0.3 if self.slow_order in body else 0.05)
        self.running -= 1
        self.spans.append((body, started, time.monotonic()))
        results = [
            {"line": number, "status": 202, "outcome": "accepted", "commandId": "c", "aggregateId": "a", "version": 1}
            for number, text in enumerate(body.split("\n"), start=1)
            if text.strip()
        ]
        return httpx.Response(200, text="".join(json.dumps(result) + "\n" for result in results))


async def test_chunks_run_in_flight_up_to_the_bound_and_an_orders_chunks_one_after_the_other(tmp_path: Path) -> None:
    # Chunks of 2 commands: [A, new] [new, new] [new, B] [A, new] [new, new] — the 4th names A like the 1st.
    texts = [command(ORDER_A, 1), command(None, 2), command(None, 3), "", command(None, 4), command(None, 5)]
    texts += [command(ORDER_B, 6), command(ORDER_A, 7), command(None, 8), command(None, 9), command(None, 10)]
    path = tmp_path / "orders.ndjson"
    path.write_text("\n".join(texts) + "\n")
    writer = FakeWriter(slow_order=ORDER_A)
    async with httpx.AsyncClient(transport=httpx.MockTransport(writer), base_url="http://writer") as client:
        summary = await import_lines(path, client, chunk_lines=2, in_flight=3)

    assert (summary.accepted, summary.rejected) == (10, [])
    assert writer.most_running <= 3
    assert writer.most_running >= 2  # other chunks did run beside the slow one
    spans = {body.split("\n")[0]: (started, ended) for body, started, ended in writer.spans}
    first_on_a, second_on_a = spans[command(ORDER_A, 1)], spans[command(ORDER_A, 7)]
    assert second_on_a[0] >= first_on_a[1]  # A's second chunk started after its first ended


async def test_result_line_numbers_are_the_files(tmp_path: Path) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_text("\n".join([command(None, 1), "", command(None, 2), command(None, 3), "", "", command(None, 4)]))

    async def writer(request: httpx.Request) -> httpx.Response:
        texts = request.content.decode().split("\n")
        results = [{"line": n, "status": 422, "outcome": "rejected", "problem": {"title": "bad"}}
                   for n, text in enumerate(texts, start=1) if text.strip()]  # fmt: skip
        return httpx.Response(200, text="".join(json.dumps(result) + "\n" for result in results))

    async with httpx.AsyncClient(transport=httpx.MockTransport(writer), base_url="http://writer") as client:
        summary = await import_lines(path, client, chunk_lines=2, in_flight=2)
    assert [result["line"] for result in summary.rejected] == [1, 3, 4, 7]
