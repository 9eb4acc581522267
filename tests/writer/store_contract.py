"""The contract of the `CommandStore` port, specified once; each adapter's test module subclasses it.

Everything is observed through the port itself (what the next decision is given, what is replayed), so the
same tests hold for any adapter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest

from writer.domain import (
    AddItemToOrder,
    ConfirmOrder,
    CreateOrder,
    Decision,
    InvalidTransition,
    NewOrderLine,
    Order,
    OrderAlreadyExists,
    OrderCommand,
    OrderNotFound,
    decide,
)
from writer.errors import IdempotencyKeyReused
from writer.handlers import COMMAND_NAMES
from writer.ports import Accepted, CommandRequest, CommandStore, IdempotencyClaim, Replayed, StoredResponse

NOW = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
LINE = NewOrderLine(sku="SKU-1", name="Widget", quantity=2, unit_price=Decimal("9.99"))


class _Probed(Exception):
    """Raised by the probing decider to end a transaction after seeing the state."""


@dataclass
class RecordingDecider:
    """Decides like the handler does, and remembers what state it was given."""

    command: OrderCommand
    seen: list[Order | None] = field(default_factory=list)

    def __call__(self, state: Order | None) -> Decision:
        self.seen.append(state)
        return decide(state, self.command, now=NOW)


def request_for(command: OrderCommand, claim: IdempotencyClaim | None = None) -> CommandRequest:
    return CommandRequest(
        command_id=uuid4(),
        command_name=COMMAND_NAMES[type(command)],
        aggregate_id=command.order_id,
        creates=isinstance(command, CreateOrder),
        issued_by="tester",
        correlation_id="corr-1",
        idempotency=claim,
    )


def claim(key: str, fingerprint: bytes = b"f" * 32, ttl_s: int = 60) -> IdempotencyClaim:
    def respond(accepted: Accepted) -> StoredResponse:
        return StoredResponse(202, {"etag": f'"{accepted.version}"'}, f"v{accepted.version}".encode())

    return IdempotencyClaim(scope="tester", key=key, fingerprint=fingerprint, ttl_s=ttl_s, respond=respond)


def create_command(order_id: str | None = None) -> CreateOrder:
    return CreateOrder(order_id=order_id or str(uuid4()), customer_id="c-1", currency="EUR", items=[LINE])


class CommandStoreContract:
    """Subclasses provide a `store` fixture: an adapter over empty storage."""

    @pytest.fixture
    def store(self) -> CommandStore:
        raise NotImplementedError

    async def run(
        self, store: CommandStore, command: OrderCommand, claim: IdempotencyClaim | None = None
    ) -> Accepted | Replayed:
        return await store.execute(request_for(command, claim), RecordingDecider(command))

    async def state_of(self, store: CommandStore, order_id: str) -> Order | None:
        """The state the next command on `order_id` would be decided against (the probe then rejects it)."""
        seen: list[Order | None] = []

        def probe(state: Order | None) -> Decision:
            seen.append(state)
            raise _Probed

        with pytest.raises(_Probed):
            await store.execute(request_for(ConfirmOrder(order_id=order_id)), probe)
        return seen[0]

    async def test_a_created_order_is_given_to_the_next_decision(self, store: CommandStore) -> None:
        create = create_command()
        accepted = await self.run(store, create)
        assert isinstance(accepted, Accepted)
        assert (accepted.version, accepted.aggregate_id, accepted.timestamp) == (1, create.order_id, NOW)
        assert [event.event_type for event in accepted.events] == ["OrderCreated"]
        state = await self.state_of(store, create.order_id)
        assert state is not None
        assert (state.version, state.customer_id, state.total) == (1, "c-1", Decimal("19.98"))

    async def test_each_accepted_command_adds_one_version(self, store: CommandStore) -> None:
        create = create_command()
        await self.run(store, create)
        for expected in (2, 3, 4):
            accepted = await self.run(store, AddItemToOrder(order_id=create.order_id, item=LINE))
            assert isinstance(accepted, Accepted)
            assert accepted.version == expected
        state = await self.state_of(store, create.order_id)
        assert state is not None
        assert (state.version, len(state.items)) == (4, 4)

    async def test_a_missing_order_is_decided_as_none(self, store: CommandStore) -> None:
        decider = RecordingDecider(ConfirmOrder(order_id=str(uuid4())))
        with pytest.raises(OrderNotFound):
            await store.execute(request_for(decider.command), decider)
        assert decider.seen == [None]

    async def test_a_rejected_decision_writes_nothing(self, store: CommandStore) -> None:
        create = create_command()
        await self.run(store, create)
        await self.run(store, ConfirmOrder(order_id=create.order_id))
        rejected = request_for(ConfirmOrder(order_id=create.order_id), claim("k-rejected"))
        with pytest.raises(InvalidTransition):
            await store.execute(rejected, RecordingDecider(ConfirmOrder(order_id=create.order_id)))
        assert await store.find_command(rejected.command_id) is None
        state = await self.state_of(store, create.order_id)
        assert state is not None
        assert state.version == 2
        # The rejection did not use up its idempotency key: a valid request may still take it.
        assert isinstance(await self.run(store, create_command(), claim("k-rejected")), Accepted)

    async def test_a_stored_response_is_replayed_without_deciding_again(self, store: CommandStore) -> None:
        create = create_command()
        first = await self.run(store, create, claim("k-1"))
        assert isinstance(first, Accepted)
        decider = RecordingDecider(create_command())
        again = await store.execute(request_for(decider.command, claim("k-1")), decider)
        assert again == Replayed(StoredResponse(202, {"etag": '"1"'}, b"v1"))
        assert decider.seen == []

    async def test_the_same_key_for_another_request_is_refused(self, store: CommandStore) -> None:
        await self.run(store, create_command(), claim("k-2", b"a" * 32))
        decider = RecordingDecider(create_command())
        with pytest.raises(IdempotencyKeyReused):
            await store.execute(request_for(decider.command, claim("k-2", b"b" * 32)), decider)
        assert decider.seen == []

    async def test_an_expired_key_is_decided_afresh(self, store: CommandStore) -> None:
        await self.run(store, create_command(), claim("k-3", ttl_s=0))
        again = await self.run(store, create_command(), claim("k-3", b"other" * 6 + b"!!", ttl_s=60))
        assert isinstance(again, Accepted)

    async def test_purge_forgets_expired_responses_only(self, store: CommandStore) -> None:
        await self.run(store, create_command(), claim("k-old", ttl_s=0))
        await self.run(store, create_command(), claim("k-live", ttl_s=60))
        assert await store.purge_expired_idempotency_keys() == 1
        replay = await self.run(store, create_command(), claim("k-live"))
        assert isinstance(replay, Replayed)

    async def test_creating_an_existing_order_is_refused(self, store: CommandStore) -> None:
        create = create_command()
        await self.run(store, create)
        with pytest.raises(OrderAlreadyExists):
            await self.run(store, create_command(create.order_id))

    async def test_find_command_returns_the_stored_outcome(self, store: CommandStore) -> None:
        request = request_for(create_command())
        accepted = await store.execute(request, RecordingDecider(create_command(request.aggregate_id)))
        assert isinstance(accepted, Accepted)
        record = await store.find_command(request.command_id)
        assert record is not None
        assert record.issued_by == "tester"
        assert dict(record.outcome) == accepted.outcome()
        assert await store.find_command(uuid4()) is None

    async def test_concurrent_commands_on_one_order_each_see_the_previous_one(self, store: CommandStore) -> None:
        create = create_command()
        await self.run(store, create)
        results = await asyncio.gather(
            *(self.run(store, AddItemToOrder(order_id=create.order_id, item=LINE)) for _ in range(8))
        )
        assert sorted(result.version for result in results if isinstance(result, Accepted)) == list(range(2, 10))

    async def test_concurrent_requests_with_one_key_have_one_effect(self, store: CommandStore) -> None:
        create = create_command()
        await self.run(store, create)
        add = AddItemToOrder(order_id=create.order_id, item=LINE)
        results = await asyncio.gather(*(self.run(store, add, claim("k-concurrent")) for _ in range(6)))
        accepted = [result for result in results if isinstance(result, Accepted)]
        assert len(accepted) == 1
        # The others waited for the first holder of the key and got its response.
        assert results.count(Replayed(StoredResponse(202, {"etag": '"2"'}, b"v2"))) == 5
        state = await self.state_of(store, create.order_id)
        assert state is not None
        assert state.version == 2

    async def test_the_store_reports_ready(self, store: CommandStore) -> None:
        await store.check_ready()
