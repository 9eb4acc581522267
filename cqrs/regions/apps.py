"""A read region's processes, run like the primary's apps: `streams-<region>` (its projections), `readapi-<region>`
(its read API) and `proxy-<region>` (its command endpoint, forwarding to the primary writer).

They are the primary's app types with the region's ports and names (`RegionSettings`, `StreamsSettings.in_region`):
the same code, its own consumer groups and read models. `cqrs region up eu` starts them (and the ground they need);
`cqrs region down eu` stops them and nothing else.
"""

from __future__ import annotations

import sys

from cqrs.apps import DEV_TOKENS, ReadApi, StreamsWorker, WriterApi
from cqrs.regions.settings import RegionSettings, region_settings
from infra.services.base import Service
from infra.settings import StackSettings
from infra.stack import Stack

REGION_WAIT_DEFAULT_S = 5.0
"""How long a region's read API waits for a `minVersion` by default (the primary's: 2 s)."""


def region_app_types(name: str) -> tuple[type[Service], ...]:
    """The service types of region `name` (`UnknownRegion` if this machine has no port block for it)."""
    region = region_settings(name)

    class RegionStreams(StreamsWorker):
        __doc__ = f"The projections of region {name}: their own consumer groups and read models."

        @property
        def port(self) -> int:
            return region.metrics_port

        def prepare(self) -> None:
            super().prepare()
            _ensure_dlq_topics(self.settings, region)

        def env(self) -> dict[str, str]:
            return super().env() | region.streams().names_env()

    class RegionReadApi(ReadApi):
        __doc__ = f"The read API of region {name}, on the region's read models."

        @property
        def port(self) -> int:
            return region.readapi_port

        def env(self) -> dict[str, str]:
            # A region trails the primary by its replication link too: its `minVersion` waits default longer.
            waits = {"CQRS_READAPI_WAIT_DEFAULT_S": str(REGION_WAIT_DEFAULT_S)}
            return super().env() | region.streams().names_env() | {"CQRS_READAPI_REGION": name} | waits

    class RegionProxy(Service):
        __doc__ = f"The command endpoint of region {name}: forwards to the primary writer."
        version = "this checkout"
        depends_on = ("postgres",)

        @property
        def port(self) -> int:
            return region.proxy_port

        def install(self) -> None:
            """Code of this checkout: nothing to fetch."""

        def command(self) -> list[str]:
            return [sys.executable, "-m", "cqrs.regions.cli", "proxy", name, "--port", str(self.port)]

        def env(self) -> dict[str, str]:
            writer = WriterApi(self.settings)
            return {
                "CQRS_PROXY_WRITER_URL": writer.url,
                "CQRS_PROXY_READAPI_URL": region.readapi_url,
                "CQRS_PROXY_WAN_DELAY_MS": str(region.wan_delay_ms),
                **DEV_TOKENS,
            }

        def healthy(self) -> bool:
            """Liveness, not readiness: the proxy serves whether or not the primary writer is up yet."""
            import httpx

            try:
                return httpx.get(f"{region.proxy_url}/health", timeout=3).status_code == 200
            except httpx.HTTPError:
                return False

    RegionStreams.name = f"streams-{name}"
    RegionReadApi.name = f"readapi-{name}"
    RegionProxy.name = f"proxy-{name}"
    return RegionStreams, RegionReadApi, RegionProxy


def region_stack(settings: StackSettings, name: str, only: tuple[str, ...] = ()) -> Stack:
    """The stack with region `name`'s apps; without `only`, exactly those three (and, for `up`, the ground)."""
    types = region_app_types(name)
    return Stack(settings, only or tuple(app_type.name for app_type in types), apps=types)


def _ensure_dlq_topics(settings: StackSettings, region: RegionSettings) -> None:
    """The region's DLQ topics, shaped as the primary's (`connectors/topics.yaml`), under the region's names."""
    import asyncio
    from dataclasses import replace

    from connectors.topics import ensure_topics, load_specs
    from streams.settings import StreamsSettings

    primary, regional = StreamsSettings(), region.streams()
    specs = [
        replace(spec, name=regional.dlq_prefix + spec.name.removeprefix(primary.dlq_prefix))
        for spec in load_specs()
        if spec.name.startswith(primary.dlq_prefix)
    ]
    asyncio.run(ensure_topics(f"127.0.0.1:{settings.ports.kafka}", specs))


def start_at_log_end(settings: StackSettings, name: str) -> None:
    """Let a region that never ran start at the log's end instead of catching up from its beginning: each projection's
    first consumer group gets the end offsets, unless it has offsets already (for the demo and benches on a machine
    whose log is long; a real region catches up, `cqrs region up`)."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.projections import PROJECTIONS
    from streams.topics import end_offsets

    streams = region_settings(name).streams()

    async def commit_ends() -> None:
        bootstrap = f"127.0.0.1:{settings.ports.kafka}"
        ends = {
            TopicPartition(streams.topic, p): end for p, end in (await end_offsets(bootstrap, streams.topic)).items()
        }
        for projection in PROJECTIONS:
            group = streams.group_id(projection, 1)
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
            await consumer.start()
            try:
                consumer.assign(list(ends))
                committed = [await consumer.committed(tp) for tp in ends]
                if all(offset is None for offset in committed):
                    await consumer.commit(ends)
            finally:
                await consumer.stop()

    asyncio.run(commit_ends())
