"""The relay's connector and task states as gauges, for the "connector or task not RUNNING" alert.

The writer already watches the relay (its slot guard refuses commands before the slot can be lost); this adds what
only Kafka Connect knows: whether the Debezium connector and its tasks run. One GET of Connect's status endpoint per
interval, in the background; the request path never waits for it. Off unless `relay_connect_url` is set.
"""

from __future__ import annotations

import asyncio

import httpx
import structlog
from prometheus_client import Gauge

log = structlog.get_logger("writer.connect_watch")

# Kafka Connect's states (`/connectors/{name}/status`); a task count per state, so an alert can say which.
STATES = ("RUNNING", "PAUSED", "FAILED", "UNASSIGNED", "RESTARTING", "STOPPED")

CONNECTOR_RUNNING = Gauge(
    "writer_relay_connector_running",
    "1 while the relay's connector is RUNNING in Kafka Connect; 0 in any other state, missing, or Connect unreachable.",
    ["connector"],
    multiprocess_mode="livemax",
)
TASKS = Gauge(
    "writer_relay_connector_tasks",
    "The relay connector's tasks per Kafka Connect state (all 0 when the connector is missing or Connect unreachable).",
    ["connector", "state"],
    multiprocess_mode="livemax",
)


class ConnectWatch:
    """Reads `connector`'s status from the Connect REST API at `connect_url` every `interval_s`."""

    def __init__(self, connect_url: str, connector: str, *, interval_s: float) -> None:
        self._client = httpx.AsyncClient(base_url=connect_url, timeout=min(2.0, interval_s))
        self._connector = connector
        self._interval_s = interval_s

    async def poll(self) -> dict[str, object] | None:
        """One reading; None (and every gauge 0) when Connect does not answer or does not know the connector."""
        try:
            response = await self._client.get(f"/connectors/{self._connector}/status")
            status = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            log.warning("connect_watch.poll_failed", connector=self._connector, error=repr(error))
            status = None
        self._publish(status)
        return status

    def _publish(self, status: dict[str, object] | None) -> None:
        connector = status.get("connector") if status else None
        state = connector.get("state") if isinstance(connector, dict) else None
        CONNECTOR_RUNNING.labels(self._connector).set(1 if state == "RUNNING" else 0)
        tasks = status.get("tasks") if status else None
        task_states = [task.get("state") for task in tasks if isinstance(task, dict)] if isinstance(tasks, list) else []
        for name in STATES:
            TASKS.labels(self._connector, name).set(task_states.count(name))

    async def run(self) -> None:
        """Poll forever (cancel to stop)."""
        try:
            while True:
                await self.poll()
                await asyncio.sleep(self._interval_s)
        finally:
            await self._client.aclose()
