"""How much WAL a logical replication slot holds back, and whether it is about to be invalidated.

The outbox rows live only in the WAL (inserted and deleted in one transaction): once Postgres invalidates the relay's
slot (`max_slot_wal_keep_size` exceeded: `wal_status = 'lost'`), the events it had not relayed are gone for good. The
writer polls this to refuse commands before that can happen; `cqrs connectors status` shows it. Plain data and one
query, so both (the writer on asyncio, the CLI sync) read the same facts and judge them by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_SAFE_FRACTION = 0.2
"""Refuse writes once less than this share of `max_slot_wal_keep_size` is left before the slot would be lost."""

# The slot of the current database only: test databases on the same cluster have none and are not guarded.
# `safe_wal_size` is NULL when max_slot_wal_keep_size = -1 (no limit: the slot can never be lost, the disk can fill).
SLOT_RETENTION_SQL = """
    SELECT coalesce(wal_status, 'unknown'),
           pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
           safe_wal_size,
           pg_size_bytes(current_setting('max_slot_wal_keep_size'))
      FROM pg_replication_slots
     WHERE slot_name = %s AND database = current_database()
"""


@dataclass(frozen=True, slots=True)
class SlotRetention:
    """One reading of a slot: `wal_status` as Postgres says it, bytes held back, bytes left before it is lost."""

    slot: str
    wal_status: str  # reserved | extended | unreserved | lost (unknown: no restart position yet)
    retained_bytes: int
    safe_bytes: int | None  # None: no max_slot_wal_keep_size, never invalidated
    keep_bytes: int | None  # max_slot_wal_keep_size in bytes; None: unlimited

    @classmethod
    def from_row(cls, slot: str, row: tuple[object, ...]) -> SlotRetention:
        wal_status, retained, safe, keep = row
        return cls(
            slot=slot,
            wal_status=str(wal_status),
            retained_bytes=int(str(retained or 0)),
            safe_bytes=None if safe is None else int(str(safe)),
            keep_bytes=None if keep is None or int(str(keep)) < 0 else int(str(keep)),
        )

    @property
    def safe_fraction(self) -> float | None:
        """The share of max_slot_wal_keep_size still writable before the slot is lost (None: unlimited)."""
        if self.safe_bytes is None or not self.keep_bytes:
            return None
        return self.safe_bytes / self.keep_bytes

    def at_risk(self, min_safe_fraction: float = DEFAULT_MIN_SAFE_FRACTION) -> str | None:
        """Why writing more WAL may lose unrelayed events, or None while it is safe."""
        if self.wal_status == "lost":
            return f"replication slot {self.slot} was invalidated (wal_status lost): unrelayed events are gone"
        if self.wal_status == "unreserved":
            return f"replication slot {self.slot} is past max_slot_wal_keep_size: the next checkpoint invalidates it"
        fraction = self.safe_fraction
        if fraction is not None and fraction < min_safe_fraction:
            return (
                f"replication slot {self.slot} can take only {self.safe_bytes:,} more bytes of WAL "
                f"({fraction:.0%} of max_slot_wal_keep_size) before it is invalidated: the relay is behind"
            )
        return None
