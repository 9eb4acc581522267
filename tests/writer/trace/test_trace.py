"""GET /commands/{commandId} on the real pipeline: a command is `accepted` while the relay is paused (and readiness
says why), then `relayed` at the partition and offset where its event really is, then `applied` in every projection;
a paused projection stays behind while the others show it; a command behind a poison event shows `parked` with the
DLQ's reason. Each disturbance (connector paused, a worker stopped) is brief and undone in a `finally`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from connectors.client import ConnectClient
from connectors.settings import ConnectorSettings
from cqrs.apps import RELAY_CONNECTOR
from infra.stack import Stack
from schemas.read_models import DLQ_PREFIX, DROPPED, EVENTS_TOPIC, LIST, PROJECTIONS
from tests.writer.helpers import line, new_order

pytestmark = pytest.mark.stack


def trace(client: httpx.Client, command_id: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/commands/{command_id}", params=params)
    assert response.status_code == 200, response.text
    traced: dict[str, Any] = response.json()["trace"]
    return traced


def until(check: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


@contextlib.contextmanager
def relay_paused() -> Iterator[None]:
    settings = ConnectorSettings()
    with ConnectClient(settings.connect_url, settings.request_timeout_s) as client:
        client.pause(RELAY_CONNECTOR)
        try:
            until(lambda: {t["state"] for t in client.status(RELAY_CONNECTOR)["tasks"]} == {"PAUSED"})
            yield
        finally:
            client.resume(RELAY_CONNECTOR)
            client.wait_running(RELAY_CONNECTOR, 60)


def record_at(bootstrap: str, topic: str, partition: int, offset: int) -> tuple[bytes | None, dict[str, bytes]]:
    async def read() -> tuple[bytes | None, dict[str, bytes]]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            where = TopicPartition(topic, partition)
            consumer.assign([where])
            consumer.seek(where, offset)
            record = (await consumer.getmany(where, timeout_ms=5000, max_records=1))[where][0]
            return record.key, dict(record.headers)
        finally:
            await consumer.stop()

    return asyncio.run(read())


def test_a_command_is_accepted_then_relayed_then_applied_in_every_projection(
    staff: httpx.Client, traced_pipeline: Stack
) -> None:
    with relay_paused():
        accepted = staff.post("/orders", json=new_order()).raise_for_status().json()
        held = trace(staff, accepted["commandId"])
        assert held["state"] == "accepted"
        assert held["relay"] is None
        assert "PAUSED" in held["relayProblem"]
        assert {p["state"] for p in held["projections"].values()} == {"accepted"}

        def not_ready() -> httpx.Response | None:
            response = staff.get("/health/ready")
            return response if response.status_code == 503 else None

        problem = until(not_ready, 5).json()
        assert problem["type"].endswith("relay-down")
        assert problem["relay"]["connector"]["state"] == "PAUSED"

    done = trace(staff, accepted["commandId"], wait="applied", timeout="25")
    assert done["state"] == "applied", {name: p["state"] for name, p in done["projections"].items()}
    assert set(done["projections"]) == set(PROJECTIONS)
    for projection in done["projections"].values():
        assert projection["state"] == "applied"
        assert projection["appliedVersion"] >= accepted["version"]
        assert projection["appliedAt"] is not None  # this process heard each projection announce it
    relay = done["relay"]
    assert relay["topic"] == EVENTS_TOPIC
    key, headers = record_at(
        f"127.0.0.1:{traced_pipeline.settings.ports.kafka}", relay["topic"], relay["partition"], relay["offsets"][0]
    )
    assert key == accepted["aggregateId"].encode()
    assert headers["causationId"] == accepted["commandId"].encode()
    # Readiness keeps a relay reading for a second: it turns ready again shortly after the resume.
    ready = until(lambda: (response := staff.get("/health/ready")).status_code == 200 and response, 5)
    assert ready.json()["relay"]["healthy"] is True


def worker_of(streams_pid: int, projection: str) -> int:
    """The supervisor's child process working for `projection`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == streams_pid and b"--projection" in argv and projection.encode() in argv:
            return int(entry.name)
    raise AssertionError(f"no worker process of {projection} under the streams supervisor {streams_pid}")


def test_a_paused_projection_stays_behind_while_the_others_show_the_command(
    staff: httpx.Client, traced_pipeline: Stack
) -> None:
    streams = traced_pipeline.by_name["streams"]
    supervisor = traced_pipeline.pid_file(streams).running_pid()
    assert supervisor is not None, "the fixture runs the projection workers"
    worker = worker_of(supervisor, LIST)
    os.kill(worker, signal.SIGSTOP)  # paused, not stopped: it resumes where it was
    try:
        accepted = staff.post("/orders", json=new_order()).raise_for_status().json()
        behind = trace(staff, accepted["commandId"], wait="applied", timeout="4")
    finally:
        os.kill(worker, signal.SIGCONT)
    assert behind["state"] == "relayed"
    assert behind["projections"][LIST]["state"] == "relayed"
    assert behind["projections"][LIST]["appliedVersion"] is None  # a new order: the list has not seen it
    others = {name: p["state"] for name, p in behind["projections"].items() if name != LIST}
    assert others == dict.fromkeys(set(PROJECTIONS) - {LIST}, "applied")
    caught_up = trace(staff, accepted["commandId"], wait="applied", timeout="25")
    assert caught_up["projections"][LIST]["state"] == "applied", caught_up


def produce_junk(bootstrap: str, order_id: str) -> str:
    """Bytes that are no event, keyed by the order (so in its partition, where its next event will follow); returns
    the record's source (`topic:partition:offset`, a dead letter's identity)."""

    async def send() -> str:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            sent = await producer.send_and_wait(EVENTS_TOPIC, b"not an event at all", key=order_id.encode())
            return f"{EVENTS_TOPIC}:{sent.partition}:{sent.offset}"
        finally:
            await producer.stop()

    return asyncio.run(send())


def drop_parked(bootstrap: str, sources: list[str]) -> None:
    """What `cqrs projections dlq drop` writes, in every projection's DLQ: the test order is parked for no one (the
    CLI itself costs seconds of start-up per projection)."""

    async def drop() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            message = {"kind": DROPPED, "writer": "trace-tests", "generation": 1, "sources": sources,
                       "at": datetime.now(UTC).isoformat()}  # fmt: skip
            for name in PROJECTIONS:
                await producer.send_and_wait(f"{DLQ_PREFIX}{name}", json.dumps(message).encode())
        finally:
            await producer.stop()

    asyncio.run(drop())


def test_a_command_behind_a_poison_event_shows_parked_with_the_reason(
    staff: httpx.Client, traced_pipeline: Stack
) -> None:
    created = staff.post("/orders", json=new_order()).raise_for_status().json()
    order_id = created["aggregateId"]
    assert trace(staff, created["commandId"], wait="applied", timeout="25")["state"] == "applied"
    bootstrap = f"127.0.0.1:{traced_pipeline.settings.ports.kafka}"
    sources = [produce_junk(bootstrap, order_id)]
    try:
        added = staff.post(f"/orders/{order_id}/items", json=line("SKU-9")).raise_for_status().json()

        def parked_everywhere() -> dict[str, Any] | None:
            traced = trace(staff, added["commandId"])
            states = {p["state"] for p in traced["projections"].values()}
            return traced if states == {"parked"} else None

        parked = until(parked_everywhere, 25)
        relay = parked["relay"]
        sources.append(f"{relay['topic']}:{relay['partition']}:{relay['offsets'][0]}")
        assert parked["state"] == "parked"
        for projection in parked["projections"].values():
            assert projection["appliedVersion"] == created["version"]
            assert projection["parked"]["reason"] == "parked-behind"
            assert projection["parked"]["version"] == added["version"]
            assert (projection["parked"]["partition"], projection["parked"]["offset"]) == (
                relay["partition"], relay["offsets"][0],
            )  # fmt: skip
            assert projection["cause"]["reason"] == "undecodable"
            assert projection["cause"]["error"]
            assert f"{EVENTS_TOPIC}:{projection['cause']['partition']}:{projection['cause']['offset']}" == sources[0]
    finally:
        drop_parked(bootstrap, sources)
