"""`cqrs top` on the real stack: the figures of a frame are what happened between its two scrapes (the commands this
test sends, the events the workers apply), and `--once` prints one frame."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from typer.testing import CliRunner

from connectors.client import ConnectClient
from connectors.settings import ConnectorSettings
from cqrs.cli import app
from cqrs.top.command import metrics_urls
from cqrs.top.frame import Relay, frame_of, relay_of
from cqrs.top.scrape import Scrape, scrape
from infra.stack import Stack
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.status import all_statuses
from tests.connectors.test_relay import create

pytestmark = pytest.mark.stack
COMMANDS = 12
CONNECTOR = "orders-outbox"  # the relay (tests/conftest.py registers it)


def applied(sample: Scrape, projection: str) -> float:
    return sample.total(
        "streams_events_total", lambda labels: labels == {"projection": projection, "outcome": "applied"}
    )


def test_a_frame_counts_the_commands_and_applied_events_between_its_scrapes(pipeline: Stack, api: httpx.Client) -> None:
    urls = metrics_urls(pipeline.settings)
    before = scrape(urls)
    for _ in range(COMMANDS):
        create(api)
    deadline = time.monotonic() + 90  # every worker applies the new orders' events (behind whatever else is queued)
    after = scrape(urls)
    while any(applied(after, name) - applied(before, name) < COMMANDS for name in PROJECTIONS):
        assert time.monotonic() < deadline, "the workers did not apply the commands' events in 90 s"
        time.sleep(1)
        after = scrape(urls)
    statuses = asyncio.run(all_statuses(StreamsSettings()))
    frame = frame_of(before, after, statuses)

    assert frame.commands_per_s is not None
    assert frame.commands_per_s * frame.seconds >= COMMANDS - 1e-6  # others may send commands too, never fewer
    assert frame.writer_p99_s is not None
    assert 0 < frame.writer_p99_s < 30
    assert frame.relay.connector_running is True
    assert frame.relay.slot_active is True
    assert frame.relay.tasks == {"RUNNING": 1}
    assert [row.projection for row in frame.projections] == list(PROJECTIONS)
    for row, status in zip(frame.projections, statuses, strict=True):
        assert row.error is None, row
        assert row.rate is not None, row
        assert row.rate * frame.seconds >= COMMANDS - 1e-6, row
        assert row.freshness_p99_s is not None, row
        assert row.freshness_p99_s >= 0, row
        assert (row.dlq_events, row.dlq_orders) == (status.dlq_events, status.dlq_orders)
    assert not {"writer", "streams"} & frame.down


def test_once_prints_one_frame_with_every_figure(pipeline: Stack, api: httpx.Client) -> None:
    create(api)
    result = CliRunner().invoke(app, ["top", "--once", "--interval", "1"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    for heading in ("commands/s", "cmd p99", "reads/s", "read p99", "events/s", "lag s", "p99 s", "DLQ"):
        assert heading in result.output
    assert "relay: connector running yes, tasks 1 RUNNING, slot streamed yes" in result.output
    for name in PROJECTIONS:
        assert name in result.output


@pytest.mark.disruptive
def test_a_paused_relay_shows_as_not_running_and_back(pipeline: Stack) -> None:
    """The writer's gauges follow Kafka Connect: paused, the connector and its task read as not running within the
    watch's interval (5 s), and running again once resumed (paused a few seconds only: events wait in the WAL)."""
    urls = {"writer": metrics_urls(pipeline.settings)["writer"]}

    def relay_after(condition: Callable[[Relay], bool]) -> Relay:
        deadline = time.monotonic() + 30
        while True:
            relay = relay_of(scrape(urls))
            if condition(relay) or time.monotonic() > deadline:
                return relay
            time.sleep(0.5)

    with ConnectClient(ConnectorSettings().connect_url) as connect:
        connect.pause(CONNECTOR)
        try:
            # Each writer process polls on its own: the gauges agree once every process has seen the change.
            paused = relay_after(lambda relay: relay.connector_running is False and relay.tasks == {"PAUSED": 1})
        finally:
            connect.resume(CONNECTOR)
        assert paused.connector_running is False
        assert paused.tasks == {"PAUSED": 1}
        resumed = relay_after(lambda relay: relay.tasks == {"RUNNING": 1} and relay.slot_active is True)
    assert resumed.tasks == {"RUNNING": 1}
    assert resumed.connector_running is True
    assert resumed.slot_active is True
