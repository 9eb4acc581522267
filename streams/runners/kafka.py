"""A runner on a bare aiokafka consumer: getmany → handler.process → commit, with the next batch fetched and decided
while the previous one is written.

Several runners may share a group (several workers per projection). When a rebalance takes partitions away, the
listener first lets every batch in flight become durable and commits it (`_InFlight.settle`), then tells the
handler, and only then does aiokafka release the partitions to the group: the new owner starts exactly after what
this worker wrote. A handler that finds it was fenced (`streams.errors.Fenced`) ends the run with `EXIT_FENCED`."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import deque
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

from streams.errors import Fenced
from streams.records import Record
from streams.runners.base import EXIT_FENCED, EXIT_OK, EXIT_RETIRED, BatchHandler, HandlerFactory, Runner

log = logging.getLogger(__name__)


class _InFlight:
    """Batches handed to the handler and not yet committed, oldest first; settled (awaited, then their offsets
    committed) in order, by the consume loop or by a rebalance, one settler at a time."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.batches: deque[tuple[asyncio.Future[Any], list[Record]]] = deque()
        self.uncommitted: dict[TopicPartition, int] = {}
        """Next offsets of durable records whose commit did not succeed yet."""
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self.batches)

    def add(self, processing: asyncio.Future[Any], records: list[Record]) -> None:
        self.batches.append((processing, records))

    async def settle(self, keep: int = 0) -> None:
        """Wait for the oldest batches until at most `keep` are in flight and commit them; raises what a batch
        raised (it stays at the head: nothing behind it is committed)."""
        async with self._lock:
            while len(self.batches) > keep:
                processing, batch = self.batches[0]
                await asyncio.shield(processing)
                self.batches.popleft()
                for record in batch:
                    self.uncommitted[TopicPartition(record.topic, record.partition)] = record.offset + 1
        await self.commit()  # outside the lock: a commit must never wait for a rebalance that waits for the lock

    async def commit(self) -> None:
        """Commit; keeps the offsets of a failed commit on partitions still owned (one that moved on is the new
        owner's, which reads its events again from the last commit)."""
        assigned = self._consumer.assignment()
        offsets = {tp: offset for tp, offset in self.uncommitted.items() if tp in assigned}
        self.uncommitted = {}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except Exception as error:  # e.g. during a rebalance: only means redelivery, which the engine makes harmless
            log.warning("offset commit failed (%r); retried with the next batch or within a tick", error)
            self.uncommitted = offsets

    async def cancel(self) -> None:
        """Stopping: a batch not durable yet is not committed either."""
        for processing, _ in self.batches:
            processing.cancel()
        await asyncio.gather(*(processing for processing, _ in self.batches), return_exceptions=True)
        self.batches.clear()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, handler: BatchHandler, topic: str, in_flight: _InFlight) -> None:
        self._handler = handler
        self._topic = topic
        self._in_flight = in_flight

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # aiokafka releases the partitions only when this returns: finish (or fail) what is in flight first.
        try:
            await self._in_flight.settle()
        except Exception as error:  # the consume loop meets the same error at its next settle and stops
            log.warning("a batch in flight failed while partitions were revoked (%r)", error)
        self._handler.revoked({tp.partition for tp in revoked if tp.topic == self._topic})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._handler.assigned({tp.partition for tp in assigned if tp.topic == self._topic})


class KafkaRunner(Runner):
    def __init__(
        self,
        bootstrap: str,
        *,
        batch_size: int,
        batch_timeout_s: float,
        tick_s: float = 1.0,
        max_poll_interval_ms: int = 300_000,
        in_flight: int = 1,
        session_timeout_s: float = 10.0,
        heartbeat_s: float = 3.0,
        client_id: str = "streams",
    ) -> None:
        """`in_flight`: batches handed over before the oldest must be durable. 1, one at a time, unless the handler
        orders overlapping batches itself, as the projection engine does (the webhook agent does not: it delivers
        while it processes, and two batches at once would deliver an order's events out of order)."""
        self._in_flight = max(in_flight, 1)
        self._bootstrap = bootstrap
        self._max_poll_interval_ms = max_poll_interval_ms
        self._batch_size = batch_size
        self._batch_timeout_s = batch_timeout_s
        self._tick_s = tick_s
        self._session_timeout_ms = int(session_timeout_s * 1000)
        self._heartbeat_ms = int(heartbeat_s * 1000)
        self._client_id = client_id
        """Names this worker among the group's members (`cqrs projections status` shows it)."""

    def run(self, open_handler: HandlerFactory) -> int:
        return asyncio.run(self._main(open_handler))

    async def _main(self, open_handler: HandlerFactory) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        handler = await open_handler()
        try:
            await self.consume(handler, stop=stop)
        except Fenced as error:
            log.warning("%s: %s; stopping without writing, to restart clean", handler.group_id, error)
            return EXIT_FENCED
        finally:
            await handler.close()
        return EXIT_RETIRED if handler.retired.is_set() else EXIT_OK

    async def consume(self, handler: BatchHandler, *, stop: asyncio.Event, until_caught_up: bool = False) -> None:
        """Run until `stop` or the handler retires; with `until_caught_up`, also stop as soon as every partition's
        position reached its end offset (a rebuild: the job is done, the switch may happen)."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=handler.group_id,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            max_poll_interval_ms=self._max_poll_interval_ms,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._heartbeat_ms,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        await consumer.start()
        in_flight = _InFlight(consumer)
        consumer.subscribe([handler.topic], listener=_Rebalance(handler, handler.topic, in_flight))
        ticked = retried = 0.0
        try:
            while not stop.is_set() and not handler.retired.is_set():
                records = await self._batch(consumer)
                if records:
                    in_flight.add(asyncio.ensure_future(handler.process(records)), records)
                # While a batch is written to the store, the next one is fetched and decided (`streams.engine`);
                # offsets are committed in batch order once each is durable, and an idle loop waits for them all.
                if in_flight and (len(in_flight) >= self._in_flight or not records):
                    await in_flight.settle(keep=self._in_flight - 1 if records else 0)
                if not records and in_flight.uncommitted and time.monotonic() - retried >= self._tick_s:
                    # Idle after a failed commit: retry it (once a tick) rather than lag until the next event.
                    retried = time.monotonic()
                    await in_flight.commit()
                if time.monotonic() - ticked >= self._tick_s or not records:
                    ticked = time.monotonic()
                    positions, ends = await self._progress(consumer)
                    handler.observe_highwaters(ends, positions)
                    await handler.tick()
                    if until_caught_up and not in_flight and positions and all(positions[p] >= ends[p] for p in ends):
                        break
        finally:
            await in_flight.cancel()
            try:
                await consumer.stop()
            except (Exception, asyncio.CancelledError) as error:  # leaving anyway (a fenced worker's coordinator
                log.warning("consumer did not stop cleanly (%r)", error)  # may be dead): the exit code matters more

    async def _progress(self, consumer: AIOKafkaConsumer) -> tuple[dict[int, int], dict[int, int]]:
        assignment = list(consumer.assignment())
        if not assignment:
            return {}, {}
        ends = await consumer.end_offsets(assignment)
        positions = {}
        for tp in assignment:
            try:
                positions[tp.partition] = await consumer.position(tp)
            except IllegalStateError:  # revoked meanwhile (a rebalance): its new owner reports it
                ends.pop(tp, None)
        return positions, {tp.partition: offset for tp, offset in ends.items()}

    async def _batch(self, consumer: AIOKafkaConsumer) -> list[Record]:
        """Up to `batch_size` records, waiting at most `batch_timeout_s` once the first one arrived. An idle worker
        waits up to a tick for that first one: polling every batch window would cost CPU on every service while
        nothing happens (and `consume` reads the log ends after every empty poll)."""
        records: list[Record] = []
        deadline: float | None = None
        while len(records) < self._batch_size:
            timeout = self._tick_s if deadline is None else max(deadline - time.monotonic(), 0)
            wanted = self._batch_size - len(records)
            fetched = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=wanted)
            for tp, messages in fetched.items():
                records += [
                    Record(tp.topic, tp.partition, m.offset, m.key, m.value, m.timestamp, tuple(m.headers or ()))
                    for m in messages
                ]
            if deadline is None and records:
                deadline = time.monotonic() + self._batch_timeout_s
            if not fetched and (deadline is None or time.monotonic() >= deadline):
                break
        return records
