"""The `CommandStore` contract against the in-memory adapter (no stack needed), plus what only it promises."""

from __future__ import annotations

import pytest

from tests.writer.store_contract import LINE, CommandStoreContract, claim, create_command
from writer.domain import AddItemToOrder
from writer.memory import InMemoryCommandStore
from writer.ports import Accepted, Replayed


class TestInMemoryCommandStore(CommandStoreContract):
    @pytest.fixture
    def store(self) -> InMemoryCommandStore:
        return InMemoryCommandStore()

    async def test_the_outbox_holds_every_accepted_event_in_commit_order(self, store: InMemoryCommandStore) -> None:
        create = create_command()
        accepted = [
            await self.run(store, command) for command in (create, AddItemToOrder(order_id=create.order_id, item=LINE))
        ]
        assert [(row.envelope.event_type, row.envelope.version, row.envelope.aggregate_id) for row in store.outbox] == [
            ("OrderCreated", 1, create.order_id),
            ("OrderItemAdded", 2, create.order_id),
        ]
        recorded = [event.event_id for result in accepted if isinstance(result, Accepted) for event in result.events]
        assert [row.envelope.event_id for row in store.outbox] == recorded

    async def test_a_kept_response_lives_for_its_ttl_on_the_stores_clock(self) -> None:
        now = 100.0
        store = InMemoryCommandStore(clock=lambda: now)
        await self.run(store, create_command(), claim("k", ttl_s=10))
        now = 109.9
        assert isinstance(await self.run(store, create_command(), claim("k", ttl_s=10)), Replayed)
        now = 110.0
        assert await store.purge_expired_idempotency_keys() == 1
        assert isinstance(await self.run(store, create_command(), claim("k", ttl_s=10)), Accepted)
