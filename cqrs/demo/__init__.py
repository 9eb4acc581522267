"""`cqrs demo`: the README's first command, the whole pipeline in one story that finishes by itself.

It starts every service and our apps (writer, projection workers, read API, webhook agent), registers the Debezium
connector and a webhook endpoint served by a local receiver, imports a sample file of orders through the batch
endpoint, posts a short live story over HTTP, and then shows where it all arrived: Postgres, Kafka (decoded Avro),
each read model with how soon it showed the order, the read API (read-your-writes, search, revenue), one command's
trace (`GET /commands/{commandId}`), the signed webhook deliveries, and the URLs of the OpenAPI docs.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from connectors.tail import EventsTail, RelayedEvent
from cqrs.apps import pipeline_stack
from cqrs.demo import region, show, story
from cqrs.stack_cli import print_status
from cqrs.write_model import snapshot
from infra.settings import StackSettings, stack_settings
from streams.peek import ReadModels, Shown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.webhooks.receiver import Receiver

console = show.console
WAIT_S = 90.0


def run_demo() -> None:
    from connectors.cli import register

    settings = stack_settings()
    stack = pipeline_stack(settings, [*pipeline_stack(settings).by_name.keys()])
    with console.status("starting the stack and our apps (the first run downloads and builds)…") as status:
        stack.up(progress=lambda message: status.update(message))
    print_status(stack.status())
    register("orders-outbox", wait=90)
    with console.status("starting read region eu (its projections, read API and command proxy)…"):
        region_started = region.start(settings)
    ports = settings.ports
    writer_url, readapi_url = f"http://127.0.0.1:{ports.writer}", f"http://127.0.0.1:{ports.readapi}"
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    with (
        Receiver(secret, fail_first=1) as receiver,
        _client(writer_url, "demo-operator", "operator") as operator,
        _client(writer_url, "demo-staff", "staff") as staff,
    ):
        endpoint = story.register_webhook(operator, receiver.url, secret)
        try:
            show.imported(story.SAMPLE_FILE.name, *story.import_sample(staff, console))
            tail = EventsTail(f"127.0.0.1:{ports.kafka}")
            posted = story.post_commands(staff, f"127.0.0.1:{ports.writer_grpc}")
            last_202 = time.monotonic()
            _show_pipeline(settings, posted, tail, last_202)
            _show_read_api(readapi_url, posted)
            # Where has the last command got to? The writer's trace, waiting until every projection shows it.
            traced = staff.get(f"/commands/{posted[-1]['commandId']}", params={"wait": "applied", "timeout": 10})
            show.trace(traced.raise_for_status().json())
            story_orders = {row["aggregateId"] for row in posted}
            wanted = [row for row in posted if row["command"] in ("confirm-order", "cancel-order")]
            receiver.wait_for(lambda: len(receiver.effects_for(story_orders)) >= len(wanted), WAIT_S)
            effects = receiver.effects_for(story_orders)
            attempts = sum(receiver.attempts[effect.webhook_id] for effect in effects)
            show.webhooks(effects, attempts, receiver.rejected_signatures)
            region.command_in_region(dict(staff.headers), "alice")
            region.overview(readapi_url, dict(staff.headers), "alice")
        finally:
            story.remove_webhook(operator, endpoint)
            if region_started:
                region.stop(settings)
    console.print(
        f"OpenAPI docs: writer {writer_url}/docs · read API {readapi_url}/docs   ·   "
        "stop everything: uv run cqrs stack down"
    )


def _show_pipeline(settings: StackSettings, posted: list[dict[str, str]], tail: EventsTail, last_202: float) -> None:
    show.accepted(posted)
    versions = {row["aggregateId"]: int(row["version"]) for row in posted}
    show.write_model(settings.ports.postgres, set(versions))
    started = time.monotonic()

    def of_the_story(events: list[RelayedEvent]) -> list[RelayedEvent]:
        # The sample import's events may still be on their way on a fresh stack: show only the story's.
        return [event for event in events if event.key in versions]

    relayed = of_the_story(tail.collect(lambda got: len(of_the_story(got)) >= len(posted), WAIT_S))
    show.events(relayed, time.monotonic() - started)
    views, visible_after = _wait_for_read_models(StreamsSettings(ports=settings.ports), versions, last_202)
    database_url = f"postgresql://postgres@127.0.0.1:{settings.ports.postgres}/orders"
    show.read_models(views, snapshot(database_url, list(versions)), visible_after)


def _wait_for_read_models(
    settings: StreamsSettings, versions: dict[str, int], since: float
) -> tuple[dict[str, dict[str, Shown]], dict[str, float]]:
    """Read every store until it shows each order at its last accepted version; note when each one did."""

    async def watch() -> tuple[dict[str, dict[str, Shown]], dict[str, float]]:
        visible_after: dict[str, float] = {}
        deadline = time.monotonic() + WAIT_S
        async with ReadModels(settings) as models:
            while True:
                seen = {name: await models.shown(name, list(versions)) for name in PROJECTIONS}
                for name, view in seen.items():
                    if all(order in view and view[order].version >= v for order, v in versions.items()):
                        visible_after.setdefault(name, time.monotonic() - since)
                if len(visible_after) == len(PROJECTIONS) or time.monotonic() > deadline:
                    return seen, visible_after
                await asyncio.sleep(0.01)

    return asyncio.run(watch())


def _show_read_api(readapi_url: str, posted: list[dict[str, str]]) -> None:
    with _client(readapi_url, "demo-staff", "staff") as staff:
        location = posted[2]["location"]  # the confirmed order, at the version its last command created
        detail = staff.get(location).raise_for_status().json()
        show.read_api_detail(detail, location)
        customer = detail["data"]["customerId"]
        listed = staff.get("/orders", params={"customerId": customer, "sort": "createdAt:desc", "limit": 5})
        show.listing(customer, listed.raise_for_status().json())
        show.search("mug", staff.get("/orders/search", params={"q": "mug", "limit": 5}).raise_for_status().json())
    with _client(readapi_url, "demo-analyst", "analyst") as analyst:
        show.revenue(analyst.get("/analytics/revenue/daily").raise_for_status().json())


@contextmanager
def _client(base_url: str, subject: str, role: str) -> Iterator[httpx.Client]:
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    token = mint_token(WriterSettings(), subject=subject, roles=[Role(role)])
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client
