"""A read region on the real pipeline: commands through the region's proxy (a server of its own) reach the primary
writer, Debezium relays them, the region's own projection (in-process, its own group and read models) applies them,
and the region's read API answers the proxy's `Location` with the change (read-your-writes without a client retry);
with the region's projections paused, the primary still answers fresh and the region answers stale, with its lag."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from cqrs.regions.apps import REGION_WAIT_DEFAULT_S
from cqrs.regions.cli import _delete_groups
from cqrs.regions.settings import PRIMARY
from infra.stack import Stack
from readapi.lag import lag_of
from servicekit.principals import Role
from streams.contract import DETAIL
from streams.projections import projection_named
from streams.sandbox import create_topics, remove
from streams.settings import StreamsSettings
from tests.readapi.conftest import client_of, readapi_settings, running_app, token
from tests.readapi.helpers import ok
from tests.readapi.live import EVENTS_TOPIC, Live
from tests.readapi.seed import start_at_end
from tests.readapi.test_read_your_writes import CHAINS, freshness_of_reads
from tests.servers import relayed_writer, served
from tests.streams.conftest import unique_settings

REGION = "eu"
READAPI_URL = "http://readapi"
"""The region's read API in this test (in-process): the base its proxy's `Location` names."""
TRIES = 200
WAN_DELAY_MS = 5


def test_a_regions_names_differ_from_the_primarys_in_every_store() -> None:
    primary = StreamsSettings()
    region = primary.in_region(REGION)
    for name, value in primary.names_env().items():
        assert region.names_env()[name] != value, name
    assert region.topic == primary.topic  # one log for every region
    assert region.group_id(DETAIL, 1) == f"{REGION}.{DETAIL}.g1"
    with pytest.raises(ValueError, match="region"):
        primary.in_region("e u")


def test_lag_counts_unapplied_events_and_the_age_of_the_last_applied_one() -> None:
    now_ms = 100_000.0
    assert lag_of({0: 10, 1: 5}, {0: (10, 99_000), 1: (5, 90_000)}, now_ms).events == 0
    assert lag_of({0: 10, 1: 5}, {0: (10, 99_000), 1: (5, 90_000)}, now_ms).seconds == 0.0
    behind = lag_of({0: 12, 1: 5}, {0: (10, 97_000), 1: (5, 90_000)}, now_ms)
    assert (behind.events, behind.seconds) == (2, 3.0)


@pytest.fixture(scope="module")
def writer_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The primary writer: one of this checkout on a port of its own (others' tests start and stop the stack's app),
    on the stack's write model, relayed by the registered connector; skips when the connector is not running."""
    with relayed_writer(stack.settings, tmp_path_factory.mktemp("writer")) as url:
        yield url


@pytest.fixture(scope="module")
def proxy_url(writer_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The region's command proxy, a server of its own, forwarding to the primary writer."""
    env = dict(os.environ) | {
        "CQRS_PROXY_WRITER_URL": writer_url,
        "CQRS_PROXY_READAPI_URL": READAPI_URL,
        "CQRS_PROXY_WAN_DELAY_MS": str(WAN_DELAY_MS),
        "CQRS_PROXY_LOG_LEVEL": "warning",
    }
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    with served(["cqrs.regions.cli", "proxy", REGION], env=env, log=log) as url:
        yield url


@asynccontextmanager
async def regional_pipeline(stack: Stack, name: str, commands_url: str) -> AsyncIterator[Live]:
    """Region `name` on a sandbox: its detail projection live from the log's end, its read API (in-process), and
    commands sent to `commands_url`."""
    streams = unique_settings(stack, topic=EVENTS_TOPIC)
    streams = streams if name == PRIMARY else streams.in_region(name)
    await create_topics(streams, events=False)
    await start_at_end(streams, streams.group_id(DETAIL, 1))
    staff = {"Authorization": f"Bearer {token(Role.STAFF)}"}
    settings = readapi_settings(streams, region=name, lag_every_s=0.2, wait_default_s=REGION_WAIT_DEFAULT_S)
    try:
        async for application in running_app(settings):
            async with (
                httpx.AsyncClient(base_url=commands_url, headers=staff, timeout=30) as commands,
                client_of(application) as reader,
            ):
                reader.headers.update(staff)
                live = Live(streams, application, commands, reader, projections=(DETAIL,))
                await live.resume()
                try:
                    yield live
                finally:
                    await live.pause()
    finally:
        await remove(streams, events=False, stores={projection_named(DETAIL).store})
        await _delete_groups(streams.kafka_bootstrap, streams.group_prefix)


@pytest.fixture(scope="module")
async def region(stack: Stack, proxy_url: str) -> AsyncIterator[Live]:
    """Read region `eu`, its commands through its proxy."""
    async with regional_pipeline(stack, REGION, proxy_url) as live:
        yield live


@pytest.fixture(scope="module")
async def primary(stack: Stack, writer_url: str) -> AsyncIterator[Live]:
    """The primary region's read side, in-process on a sandbox of its own (the stack's may be busy with other
    work): what the region's pause must not slow down."""
    async with regional_pipeline(stack, PRIMARY, writer_url) as live:
        yield live


async def test_an_order_created_through_the_proxy_is_read_back_from_the_region(region: Live, primary: Live) -> None:
    waited: dict[str, list[float]] = {PRIMARY: [], REGION: []}

    async def timed(live: Live, name: str, location: str) -> httpx.Response:
        started = time.perf_counter()
        answer = await live.reader.get(location)
        waited[name].append((time.perf_counter() - started) * 1000)
        return answer

    async def location(accepted: httpx.Response) -> bool:
        location = accepted.headers["location"]
        assert location.startswith(f"{READAPI_URL}/orders/"), location
        # The same read in the region (as the proxy's Location says) and in the primary, at once: same-run figures.
        answer, _ = await asyncio.gather(timed(region, REGION, location), timed(primary, PRIMARY, location))
        if answer.status_code == 404:
            return False  # the wait timed out before the order reached the region
        body = ok(answer)
        assert body["meta"]["region"] == REGION
        return bool(body["data"]["version"] >= accepted.json()["version"] and body["meta"]["stale"] is False)

    fresh = await freshness_of_reads(region, TRIES // CHAINS, location)
    for name, times in waited.items():
        times.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
        print(f"{name}: 202 → read with minVersion p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"region read-your-writes: {sum(fresh)}/{len(fresh)} fresh")
    assert len(fresh) == TRIES
    assert sum(fresh) >= 0.99 * TRIES, f"{TRIES - sum(fresh)} of {TRIES} answers were older"


async def test_the_idempotency_key_passes_through_the_proxy(region: Live) -> None:
    line = {"sku": "RG-1", "name": "Region mug", "quantity": 1, "unitPrice": "4.00"}
    body = {"customerId": region.customer, "currency": "EUR", "items": [line]}
    key = {"Idempotency-Key": f"region-{region.customer}"}
    first = await region.writer.post("/orders", json=body, headers=key)
    again = await region.writer.post("/orders", json=body, headers=key)
    assert first.status_code == again.status_code == 202
    assert again.json()["aggregateId"] == first.json()["aggregateId"]
    other = await region.writer.post("/orders", json=body | {"currency": "USD"}, headers=key)
    assert other.status_code == 422, other.text
    refused = await region.writer.post("/orders", json=body, headers={"Authorization": "Bearer not-a-token"})
    assert refused.status_code == 401


async def test_with_the_regions_projections_paused_the_primary_is_fresh_and_the_region_stale(
    region: Live, primary: Live
) -> None:
    created = await region.create()
    # The longest wait allowed (10 s): on a loaded machine a projection may take more than the default 5 s.
    assert (await region.reader.get(created.headers["location"] + "&timeout=10")).json()["meta"]["stale"] is False
    await region.pause()
    try:
        changed = await region.add_item(created.json()["aggregateId"], 2)
        path = changed.headers["location"].removeprefix(READAPI_URL)
        fresh = ok(await primary.reader.get(path + "&timeout=10"))
        assert fresh["meta"]["stale"] is False
        assert fresh["meta"]["region"] == PRIMARY
        assert fresh["data"]["version"] == changed.json()["version"]
        await asyncio.sleep(1.0)  # a lag measurement or more after the command's event reached the log
        stale = ok(await region.reader.get(changed.headers["location"] + "&timeout=0.3"))
        assert stale["meta"]["stale"] is True
        assert stale["data"]["version"] == created.json()["version"]
        assert stale["meta"]["region"] == REGION
        assert stale["meta"]["lagSeconds"] > 0.5
        assert region.app.state.services.lag.per_projection[DETAIL].events >= 1
        metrics = (await region.reader.get("/metrics")).text
        exported = f'readapi_replica_lag_seconds{{projection="{DETAIL}",region="{REGION}"}}'
        assert exported in metrics
        assert float(metrics.split(exported)[1].split()[0]) > 0.5
    finally:
        await region.resume()


async def test_dropping_a_region_deletes_its_consumer_groups_and_nothing_else(stack: Stack) -> None:
    """A region added again after a drop must catch up from the log's beginning, not resume where it was."""
    from aiokafka.admin import AIOKafkaAdminClient

    primary = unique_settings(stack, topic=EVENTS_TOPIC)
    region = primary.in_region(REGION)
    for settings in (primary, region):
        await start_at_end(settings, settings.group_id(DETAIL, 1))  # a group with committed offsets
    await _delete_groups(region.kafka_bootstrap, region.group_prefix)
    admin = AIOKafkaAdminClient(bootstrap_servers=region.kafka_bootstrap)
    await admin.start()
    try:
        groups = {group for group, _ in await admin.list_consumer_groups()}
    finally:
        await admin.close()
    assert region.group_id(DETAIL, 1) not in groups
    assert primary.group_id(DETAIL, 1) in groups
    await _delete_groups(primary.kafka_bootstrap, primary.group_prefix)  # the test's own leftovers
