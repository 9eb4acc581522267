"""The connector's replication slot as Postgres sees it: how far behind it is, how much WAL it holds back, and how
close it is to being invalidated (which would lose the events it had not relayed: see docs/faults.md)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from infra.slot_retention import SlotRetention


@dataclass(frozen=True)
class SlotState:
    name: str
    active: bool
    lag_bytes: int  # WAL written but not yet confirmed by the connector
    retention: SlotRetention  # WAL held back, and how much more can be written before the slot is lost

    @property
    def retained_bytes(self) -> int:
        return self.retention.retained_bytes

    @property
    def wal_status(self) -> str:
        return self.retention.wal_status

    def warning(self) -> str | None:
        """Why the writer refuses (or will refuse) commands because of this slot, None while it is safe."""
        return self.retention.at_risk()


def slot_state(dsn: str, slot: str) -> SlotState | None:
    query = """
        SELECT active,
               pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,
               coalesce(wal_status, 'unknown'),
               pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
               safe_wal_size,
               pg_size_bytes(current_setting('max_slot_wal_keep_size'))
          FROM pg_replication_slots WHERE slot_name = %s
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, (slot,)).fetchone()
    if row is None:
        return None
    active, lag, *retention = row
    return SlotState(slot, bool(active), int(lag or 0), SlotRetention.from_row(slot, tuple(retention)))
