"""Is the relay relaying? The Debezium connector and its task as Kafka Connect reports them, and its replication slot
as Postgres does. Commands are still accepted while the relay is down (they wait in the WAL), but nothing reaches
Kafka, so the writer's readiness says so instead of letting read-your-writes time out with no reason given.

Readings are kept `max_age_s` so that frequent readiness probes cost Connect and Postgres one request a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

# How far the relay is behind: WAL written since the position Debezium last confirmed.
SLOT_SQL = """
    SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, coalesce(wal_status, 'unknown')
      FROM pg_replication_slots
     WHERE slot_name = %s AND database = current_database()
"""


@dataclass(frozen=True, slots=True)
class RelayState:
    connector: str
    connector_state: str
    """RUNNING, PAUSED, FAILED, UNASSIGNED, … as Connect says; MISSING (not registered), UNREACHABLE (no Connect)."""
    task_states: tuple[str, ...] = ()
    slot: str = ""
    slot_active: bool | None = None
    """None: no slot (Debezium has never run against this database)."""
    slot_lag_bytes: int | None = None
    wal_status: str | None = None
    errors: tuple[str, ...] = field(default=())

    @property
    def problem(self) -> str | None:
        """Why the relay does not relay now, or None while it does."""
        if self.connector_state != "RUNNING":
            return f"connector {self.connector} is {self.connector_state}"
        if not self.task_states or any(state != "RUNNING" for state in self.task_states):
            return f"connector {self.connector}'s tasks are {', '.join(self.task_states) or 'not started'}"
        if self.wal_status == "lost":
            return f"replication slot {self.slot} was invalidated: events not relayed before are lost"
        if self.slot_active is False:
            return f"nobody streams from replication slot {self.slot}"
        return None

    @property
    def lost(self) -> bool:
        return self.wal_status == "lost"

    def as_json(self) -> dict[str, Any]:
        return {
            "healthy": self.problem is None,
            "problem": self.problem,
            "connector": {"name": self.connector, "state": self.connector_state, "tasks": list(self.task_states)},
            "slot": {"name": self.slot, "active": self.slot_active, "lagBytes": self.slot_lag_bytes,
                     "walStatus": self.wal_status},
        }  # fmt: skip


class RelayProbe:
    """The relay's state from Connect (`connect_url`) and the write model (`pool`), at most once per `max_age_s`."""

    def __init__(
        self,
        connect_url: str,
        connector: str,
        pool: AsyncConnectionPool[AsyncConnection[TupleRow]] | None,
        slot: str,
        *,
        max_age_s: float = 1.0,
        timeout_s: float = 2.0,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=connect_url, timeout=timeout_s)
        self._connector = connector
        self._pool = pool
        self._slot = slot
        self._max_age_s = max_age_s
        self._last: tuple[float, RelayState] | None = None

    async def close(self) -> None:
        await self._client.aclose()

    async def state(self) -> RelayState:
        if self._last is not None and time.monotonic() - self._last[0] < self._max_age_s:
            return self._last[1]
        connector_state, tasks = await self._connect_status()
        active, lag, wal_status = await self._slot_status()
        state = RelayState(self._connector, connector_state, tasks, self._slot, active, lag, wal_status)
        self._last = (time.monotonic(), state)
        return state

    async def _connect_status(self) -> tuple[str, tuple[str, ...]]:
        try:
            response = await self._client.get(f"/connectors/{self._connector}/status")
        except httpx.HTTPError:
            return "UNREACHABLE", ()
        if response.status_code == 404:
            return "MISSING", ()
        try:
            status = response.json()
            return str(status["connector"]["state"]), tuple(str(task["state"]) for task in status["tasks"])
        except (ValueError, KeyError, TypeError):
            return f"UNKNOWN (HTTP {response.status_code})", ()

    async def _slot_status(self) -> tuple[bool | None, int | None, str | None]:
        if self._pool is None or not self._slot:
            return None, None, None
        try:
            async with self._pool.connection(timeout=2.0) as conn:
                row = await (await conn.execute(SLOT_SQL, (self._slot,))).fetchone()
        except (PoolTimeout, psycopg.Error):
            return None, None, None
        if row is None:
            return None, None, None
        active, lag, wal_status = row
        return bool(active), int(lag) if lag is not None else None, str(wal_status)
