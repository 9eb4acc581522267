"""Refuse commands before the relay's replication slot can be invalidated.

Outbox rows live only in the WAL, so a slot Postgres invalidates (`max_slot_wal_keep_size` exceeded while Connect
is down or behind) loses every event it had not relayed. A background task reads the slot's retention once per
interval; the hot path only looks at the last verdict (no query per command). While the slot is at risk every
command gets a 503 `relay-at-risk` problem with Retry-After: nothing is accepted that the relay could lose.
"""

from __future__ import annotations

import asyncio

import psycopg
import structlog
from prometheus_client import Gauge
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from infra.slot_retention import SLOT_RETENTION_SQL, SlotRetention
from writer.errors import RelayAtRisk

log = structlog.get_logger("writer.slot_guard")

SLOT_RETAINED_BYTES = Gauge(
    "writer_relay_slot_retained_bytes",
    "WAL bytes the relay's replication slot holds back (not yet confirmed by Debezium).",
    multiprocess_mode="livemax",
)
SLOT_SAFE_BYTES = Gauge(
    "writer_relay_slot_safe_bytes",
    "WAL bytes that can still be written before the relay's slot is invalidated (-1: no limit or no slot).",
    multiprocess_mode="livemin",
)
# Whether Debezium streams from the slot, and how much WAL it has not confirmed yet: "relay down" and "relay lag"
# for the alerts and the dashboard, read on the same connection as the retention (one more row a poll).
SLOT_ACTIVE = Gauge(
    "writer_relay_slot_active",
    "1 while a consumer (the relay's Debezium task) streams from the slot, 0 when none does or there is no slot.",
    multiprocess_mode="livemax",
)
SLOT_UNCONFIRMED_BYTES = Gauge(
    "writer_relay_slot_unconfirmed_bytes",
    "WAL bytes written since the last position the relay confirmed (its lag behind the write model).",
    multiprocess_mode="livemax",
)
SLOT_ACTIVITY_SQL = """
    SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
      FROM pg_replication_slots
     WHERE slot_name = %s AND database = current_database()
"""
SLOT_REFUSING = Gauge(
    "writer_relay_slot_refusing",
    "1 while commands are refused because the relay's slot is near its limit (or lost).",
    multiprocess_mode="livemax",
)


class SlotGuard:
    """The last verdict on the relay slot `slot` of the write model's database, refreshed by `run()`."""

    def __init__(
        self,
        pool: AsyncConnectionPool[AsyncConnection[TupleRow]],
        slot: str,
        *,
        min_safe_fraction: float,
        interval_s: float,
    ) -> None:
        self._pool = pool
        self._slot = slot
        self._min_safe_fraction = min_safe_fraction
        self._interval_s = interval_s
        self._refusal: str | None = None

    def check(self) -> None:
        """Raise `RelayAtRisk` while the slot is near its limit; costs an attribute read."""
        if self._refusal is not None:
            raise RelayAtRisk(self._refusal)

    async def poll(self) -> SlotRetention | None:
        """Read the slot once and update the verdict. No slot (yet): nothing to guard. A failed read keeps the last
        verdict: an unreachable database fails the commands by itself."""
        try:
            async with self._pool.connection(timeout=min(2.0, self._pool.timeout)) as conn:
                row = await (await conn.execute(SLOT_RETENTION_SQL, (self._slot,))).fetchone()
                activity = await (await conn.execute(SLOT_ACTIVITY_SQL, (self._slot,))).fetchone()
        except (PoolTimeout, psycopg.Error) as error:
            log.warning("slot_guard.poll_failed", slot=self._slot, error=repr(error))
            return None
        retention = None if row is None else SlotRetention.from_row(self._slot, row)
        self._judge(retention)
        active, unconfirmed = activity or (False, 0)
        SLOT_ACTIVE.set(1 if active else 0)
        SLOT_UNCONFIRMED_BYTES.set(int(unconfirmed or 0))
        return retention

    def _judge(self, retention: SlotRetention | None) -> None:
        refusal = None if retention is None else retention.at_risk(self._min_safe_fraction)
        if refusal != self._refusal:
            if refusal is None:
                log.info("slot_guard.accepting_again", slot=self._slot)
            else:
                log.error("slot_guard.refusing_commands", slot=self._slot, reason=refusal)
        self._refusal = refusal
        SLOT_REFUSING.set(0 if refusal is None else 1)
        SLOT_RETAINED_BYTES.set(0 if retention is None else retention.retained_bytes)
        safe = None if retention is None else retention.safe_bytes
        SLOT_SAFE_BYTES.set(-1 if safe is None else safe)

    async def run(self) -> None:
        """Poll forever (cancel to stop)."""
        while True:
            await asyncio.sleep(self._interval_s)
            await self.poll()
