"""The PostgreSQL adapter of the writer's persistence port."""

from writer.postgres.pool import create_pool
from writer.postgres.slot_guard import SlotGuard
from writer.postgres.store import PostgresCommandStore

__all__ = ["PostgresCommandStore", "SlotGuard", "create_pool"]
