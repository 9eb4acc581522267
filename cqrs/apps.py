"""Our own long-running processes (writer API, streams worker, read API), run like the services.

They are not part of a plain `cqrs stack up`, which starts the infrastructure only; name them to start them
(`cqrs stack up writer`) — the demo, the relay tests and the benchmarks do. Each runs the code of this checkout.

The writer needs the relay (Kafka Connect with the registered `orders-outbox` connector): without it commands are
accepted and never reach Kafka. So starting the writer starts Connect and registers the connector first, or refuses
with the reason (`RelayUnavailable`); the writer's readiness then watches the relay (`/health/ready`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import httpx

from infra.errors import ServiceUnhealthy
from infra.services.base import Service
from infra.settings import StackSettings
from infra.stack import Stack
from servicekit.serving import is_ready
from streams.webhooks.settings import AGENT_ROLE
from writer.trace.relay_state import RelayState

# The stack's apps serve on loopback and trust the built-in dev token secret, explicitly: without it (and without a
# secret of their own, `CQRS_WRITER_JWT_SECRET`, …) they refuse to start.
DEV_TOKENS = {"CQRS_DEV_MODE": "1"}


class WriterApi(Service):
    """The command API with the webhook registration routes mounted (`cqrs.writer_api`)."""

    name = "writer"
    version = "this checkout"
    depends_on = ("postgres", "connect")

    @property
    def port(self) -> int:
        return self.settings.ports.writer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def extra_ports(self) -> tuple[int, ...]:
        """The gRPC command API (`CQRS_WRITER_GRPC_PORT`): gRPC shares a port among processes (SO_REUSEPORT), so a
        stray writer still holding it must be found before start, not left to answer calls."""
        return (self.settings.ports.writer_grpc,)

    def install(self) -> None:
        """Code of this checkout: nothing to fetch."""

    def prepare(self) -> None:
        """The writer's migrations and the webhook tables' (the app serves `/webhooks`), then the relay: the
        connector reads the publication the migrations make."""
        from cqrs.writer_api import migrate

        migrate(self.database_url)
        register_relay()

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.settings.ports.postgres}/orders"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "cqrs.writer_cli", "serve", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        # Two uvicorn workers: one process cannot use both cores for JSON, JWT and Avro work.
        return {
            "CQRS_WRITER_DATABASE_URL": self.database_url.replace("postgres@", "cqrs_writer@", 1),  # its own role
            "CQRS_WRITER_HOST": "127.0.0.1",
            "CQRS_WRITER_WORKERS": "2",
            "CQRS_WRITER_GRPC_PORT": str(self.settings.ports.writer_grpc),  # the same commands over gRPC
            # The relay connector's state as gauges (alerts, `cqrs top`): Connect's REST API on this stack.
            "CQRS_WRITER_RELAY_CONNECT_URL": f"http://127.0.0.1:{self.settings.ports.connect}",
            **DEV_TOKENS,
        }

    def healthy(self) -> bool:
        return is_ready(self.url)


class ReadApi(Service):
    """The query API (`python -m readapi.cli serve`); it reads what the streams workers project."""

    name = "readapi"
    version = "this checkout"
    depends_on = ("postgres", "readdb", "redis", "ferretdb", "elasticsearch", "clickhouse")

    @property
    def port(self) -> int:
        return self.settings.ports.readapi

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def install(self) -> None:
        """Code of this checkout: nothing to fetch."""

    def prepare(self) -> None:
        """Strong reads use the write model's `order_summary` as the `cqrs_readapi` role: the writer's migrations
        create both (a no-op once the writer has run)."""
        from cqrs.writer_api import migrate

        migrate(f"postgresql://postgres@127.0.0.1:{self.settings.ports.postgres}/orders")

    def command(self) -> list[str]:
        return [sys.executable, "-m", "readapi.cli", "serve", "--port", str(self.port)]

    def env(self) -> dict[str, str]:
        database_url = f"postgresql://cqrs_readapi@127.0.0.1:{self.settings.ports.postgres}/orders"
        return {"CQRS_READAPI_DATABASE_URL": database_url, "CQRS_READAPI_HOST": "127.0.0.1", **DEV_TOKENS}

    def healthy(self) -> bool:
        return is_ready(self.url)


class StreamsWorker(Service):
    """The projection workers: a supervisor with one Faust worker process per projection."""

    name = "streams"
    version = "this checkout"
    runner: str | None = None
    """The worker's `--runner` (faust or kafka); None: its default. `cqrs bench e2e` measures each in turn."""
    workers: int | None = None
    """Worker processes per projection (`cqrs stack up streams --workers N`); None: `CQRS_STREAMS_WORKERS` or 1."""
    depends_on = ("kafka", "redis", "readdb", "ferretdb", "elasticsearch", "clickhouse")

    @property
    def port(self) -> int:
        return self.settings.ports.streams

    @property
    def metrics_ports(self) -> list[int]:
        """One per worker process: the projections side by side, then the next worker of each."""
        from streams.projections import PROJECTIONS
        from streams.settings import StreamsSettings

        workers = self.workers or StreamsSettings().workers
        return [self.port + index for index in range(len(PROJECTIONS) * workers)]

    def install(self) -> None:
        """Code of this checkout: nothing to fetch."""

    def prepare(self) -> None:
        """The event and DLQ topics must exist first: the broker does not create topics on demand."""
        import asyncio

        from connectors.topics import ensure_topics, load_specs

        asyncio.run(ensure_topics(f"127.0.0.1:{self.settings.ports.kafka}", load_specs()))

    def command(self) -> list[str]:
        runner = ["--runner", self.runner] if self.runner else []
        workers = ["--workers", str(self.workers)] if self.workers else []
        return [sys.executable, "-m", "streams", "worker", "--log-level", "info", *runner, *workers]

    def env(self) -> dict[str, str]:
        return {"CQRS_STREAMS_METRICS_PORT": str(self.port)}

    def healthy(self) -> bool:
        """Every projection process serves its metrics, which it starts only once its store target is ready."""
        try:
            return all(
                httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=3).status_code == 200
                for port in self.metrics_ports
            )
        except httpx.HTTPError:
            return False


class WebhookAgent(Service):
    """Delivers events to the registered webhook endpoints (its own consumer group, `webhooks`)."""

    name = "webhooks"
    version = "this checkout"
    depends_on = ("postgres", "kafka")

    @property
    def port(self) -> int:
        return self.settings.ports.webhooks

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.settings.ports.postgres}/orders"

    def install(self) -> None:
        """Code of this checkout: nothing to fetch."""

    def prepare(self) -> None:
        """Its endpoint registry lives in the writer's database (migrated as the owner, as the writer app does; the
        migrations make its role); the event topic must exist."""
        import asyncio

        from connectors.topics import ensure_topics, load_specs
        from cqrs.writer_api import migrate

        migrate(self.database_url)
        asyncio.run(ensure_topics(f"127.0.0.1:{self.settings.ports.kafka}", load_specs()))

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streams.webhooks.cli", "worker", "--log-level", "info"]

    def env(self) -> dict[str, str]:
        return {
            # Its own role: the webhook tables, not the orders (webhook migration webhooks_0003_agent_role).
            "CQRS_WEBHOOKS_DATABASE_URL": self.database_url.replace("postgres@", f"{AGENT_ROLE}@", 1),
            "CQRS_WEBHOOKS_METRICS_PORT": str(self.port),
            **DEV_TOKENS,  # also the webhooks' dev mode: loopback receivers, the dev key for secrets at rest
        }

    def healthy(self) -> bool:
        """The agent serves metrics only once it reached its database."""
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False


APP_TYPES: tuple[type[Service], ...] = (WriterApi, StreamsWorker, ReadApi, WebhookAgent)


def pipeline_stack(settings: StackSettings, only: Sequence[str] = ()) -> Stack:
    """The native stack with our own apps on it (apps start only when named)."""
    return Stack(settings, only, apps=APP_TYPES)


RELAY_CONNECTOR = "orders-outbox"
"""The Debezium connector (connectors/configs/) that relays the writer's outbox to Kafka."""


class RelayUnavailable(ServiceUnhealthy):
    """The relay's connector could not be registered or does not run: the writer would accept commands that never
    reach Kafka, so it is not started."""


def register_relay(wait_s: float = 90.0) -> None:
    """Create the topics, then register (validate, create or update) the relay connector and wait until it and its
    task run, as `cqrs connectors register orders-outbox` does; `RelayUnavailable` with the reason otherwise."""
    from connectors.client import ConnectClient
    from connectors.config import load
    from connectors.errors import ConnectorError
    from connectors.settings import ConnectorSettings
    from connectors.topics import ensure_topics, load_specs

    settings = ConnectorSettings()
    fix = f"`uv run cqrs connectors status {RELAY_CONNECTOR}` shows why; `uv run cqrs stack logs connect`"
    try:
        asyncio.run(ensure_topics(settings.kafka_bootstrap, load_specs(settings.topics_file)))
        with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
            connector = load(RELAY_CONNECTOR, settings, settings.config_dir)
            if RELAY_CONNECTOR in client.connectors():
                state = client.status(RELAY_CONNECTOR)["connector"]["state"]
                if state in ("PAUSED", "STOPPED"):  # an operator's decision: not ours to undo
                    raise RelayUnavailable(
                        "relay",
                        f"connector {RELAY_CONNECTOR} is {state}",
                        f"`uv run cqrs connectors resume {RELAY_CONNECTOR}`",
                    )
            client.validate(connector)
            client.put_config(connector)
            client.restart_failed(RELAY_CONNECTOR)
            client.wait_running(RELAY_CONNECTOR, wait_s)
    except (ConnectorError, httpx.HTTPError, OSError) as error:
        raise RelayUnavailable("relay", f"connector {RELAY_CONNECTOR} could not be started: {error}", fix) from error


def relay_status() -> RelayState:
    """The relay as `cqrs stack status` shows it (the same verdict as the writer's readiness): Connect's view of the
    connector and its task, Postgres' view of its replication slot."""
    import psycopg

    from connectors.client import ConnectClient
    from connectors.config import load
    from connectors.errors import ConnectorError, ConnectorNotFound
    from connectors.settings import ConnectorSettings
    from connectors.slots import slot_state

    settings = ConnectorSettings()
    connector_state, tasks = "UNREACHABLE", ()
    try:
        with ConnectClient(settings.connect_url, timeout_s=3) as client:
            status = client.status(RELAY_CONNECTOR)
        connector_state = status["connector"]["state"]
        tasks = tuple(task["state"] for task in status["tasks"])
    except ConnectorNotFound:
        connector_state = "MISSING"
    except (ConnectorError, httpx.HTTPError):
        pass
    slot_name = str(load(RELAY_CONNECTOR, settings).config.get("slot.name", ""))
    try:
        slot = slot_state(settings.postgres_dsn, slot_name)
    except (psycopg.Error, OSError):  # Postgres down: its own row says so; the slot is then unknown
        slot = None
    if slot is None:
        return RelayState(RELAY_CONNECTOR, connector_state, tasks, slot_name)
    return RelayState(RELAY_CONNECTOR, connector_state, tasks, slot_name, slot.active, slot.lag_bytes, slot.wal_status)
