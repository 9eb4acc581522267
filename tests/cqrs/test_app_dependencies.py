"""`cqrs stack up <apps>` starts what the named apps need: the writer brings the relay (Kafka Connect, and the
connector it registers before it starts), the projection workers and the read API their stores. Pure: resolving
the services starts nothing."""

from __future__ import annotations

from cqrs.apps import WriterApi, pipeline_stack
from infra.settings import StackSettings

STORES = {"redis", "readdb", "ferretdb", "elasticsearch", "clickhouse"}


def started_by(*apps: str) -> set[str]:
    return {service.name for service in pipeline_stack(StackSettings(), list(apps)).services}


def test_the_writer_the_workers_and_the_read_api_bring_the_relay_and_every_store() -> None:
    assert started_by("writer", "streams", "readapi") == {
        "writer", "streams", "readapi", "postgres", "kafka", "connect", *STORES,
    }  # fmt: skip


def test_the_writer_alone_brings_the_relay() -> None:
    assert started_by("writer") == {"writer", "postgres", "kafka", "connect"}


def test_the_read_side_alone_needs_no_relay() -> None:
    assert "connect" not in started_by("streams", "readapi")


def test_dependencies_start_before_what_needs_them() -> None:
    order = [service.name for service in pipeline_stack(StackSettings(), ["writer"]).services]
    assert order.index("kafka") < order.index("connect") < order.index("writer")
    assert order.index("postgres") < order.index("connect")


def test_the_stack_writer_watches_the_relay_in_its_readiness() -> None:
    settings = StackSettings()
    env = WriterApi(settings).env()
    assert env["CQRS_WRITER_RELAY_CONNECT_URL"] == f"http://127.0.0.1:{settings.ports.connect}"
