"""The connector's replication slot as Postgres sees it: how far behind it is and how much WAL it holds back."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class SlotState:
    name: str
    active: bool
    lag_bytes: int  # WAL written but not yet confirmed by the connector
    retained_bytes: int  # WAL Postgres must keep for this slot
    wal_status: str


def slot_state(dsn: str, slot: str) -> SlotState | None:
    query = """
        SELECT slot_name, active,
               pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,
               pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
               coalesce(wal_status, 'unknown')
          FROM pg_replication_slots WHERE slot_name = %s
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(query, (slot,)).fetchone()
    if row is None:
        return None
    name, active, lag, retained, wal_status = row
    return SlotState(name, bool(active), int(lag or 0), int(retained or 0), str(wal_status))
