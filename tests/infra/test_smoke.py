"""Each of the seven services does real work through the client the pipeline uses for it."""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import clickhouse_connect
import httpx
import psycopg
import pymongo
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from elasticsearch import Elasticsearch

from infra.clickhouse.credentials import load as load_credentials
from infra.services.connect import OUTBOX_ROUTER_CLASS, POSTGRES_CONNECTOR_CLASS
from infra.services.postgres import dsn
from infra.stack import Stack

pytestmark = pytest.mark.stack


def test_postgres_round_trip_and_logical_slot_sees_committed_rows(stack: Stack) -> None:
    slot = f"smoke_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn(stack.settings.ports.postgres), autocommit=True) as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        conn.execute("CREATE TABLE IF NOT EXISTS smoke_rows (id text PRIMARY KEY, note text)")
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (slot,))
        try:
            conn.execute("INSERT INTO smoke_rows VALUES (%s, 'hello')", (slot,))
            assert conn.execute("SELECT note FROM smoke_rows WHERE id = %s", (slot,)).fetchone() == ("hello",)
            changes = conn.execute("SELECT data FROM pg_logical_slot_get_changes(%s, NULL, NULL)", (slot,)).fetchall()
            assert any("INSERT" in data and slot in data for (data,) in changes)
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            conn.execute("DELETE FROM smoke_rows WHERE id = %s", (slot,))


async def test_kafka_produce_consume_with_group_join_and_commit(stack: Stack) -> None:
    """aiokafka (the client faust-streaming runs on) against Kafka 4, which dropped old protocol versions (KIP-896)."""
    bootstrap = f"127.0.0.1:{stack.settings.ports.kafka}"
    topic, group = f"smoke-{uuid.uuid4().hex[:8]}", f"smoke-group-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for n in range(10):
                await producer.send_and_wait(topic, f"value-{n}".encode(), key=f"key-{n % 3}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            received: list[bytes] = []
            while len(received) < 10:
                batch = await consumer.getmany(timeout_ms=5000)
                assert batch, "no records within 5 s"
                received += [record.value for records in batch.values() for record in records if record.value]
            await consumer.commit()
            assert consumer.assignment() == {TopicPartition(topic, 0), TopicPartition(topic, 1)}
            committed = sum([await consumer.committed(tp) or 0 for tp in consumer.assignment()])
        finally:
            await consumer.stop()
        assert sorted(received) == sorted(f"value-{n}".encode() for n in range(10))
        assert committed == 10
    finally:
        await admin.delete_topics([topic])
        await admin.close()


def test_connect_has_debezium_postgres_connector_and_outbox_router(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.settings.ports.connect}/connector-plugins?connectorsOnly=false"
    plugins = {plugin["class"]: plugin for plugin in httpx.get(url, timeout=10).json()}
    assert plugins[POSTGRES_CONNECTOR_CLASS]["type"] == "source"
    assert plugins[OUTBOX_ROUTER_CLASS]["type"] == "transformation"


def test_ferretdb_insert_find_update(stack: Stack) -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        f"mongodb://127.0.0.1:{stack.settings.ports.ferretdb}/"
    )
    with client:
        orders = client["smoke"][f"orders_{uuid.uuid4().hex[:8]}"]
        orders.insert_one({"_id": "o-1", "status": "pending", "items": [{"sku": "A", "quantity": 2}], "version": 1})
        orders.update_one({"_id": "o-1", "version": {"$lt": 2}}, {"$set": {"status": "confirmed", "version": 2}})
        assert orders.find_one({"_id": "o-1"}) == {
            "_id": "o-1", "status": "confirmed", "items": [{"sku": "A", "quantity": 2}], "version": 2,
        }  # fmt: skip
        assert [doc["_id"] for doc in orders.find({"items.sku": "A"})] == ["o-1"]
        orders.drop()


def test_elasticsearch_index_and_search(stack: Stack) -> None:
    client = Elasticsearch(f"http://127.0.0.1:{stack.settings.ports.elasticsearch}")
    index = f"smoke-{uuid.uuid4().hex[:8]}"
    try:
        client.index(index=index, id="o-1", document={"items": "blue ceramic mug", "status": "pending"}, refresh=True)
        client.index(index=index, id="o-2", document={"items": "red kettle", "status": "shipped"}, refresh=True)
        hits = client.search(index=index, query={"match": {"items": "mug"}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["o-1"]
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)


def test_clickhouse_create_insert_select_over_http(stack: Stack) -> None:
    users = load_credentials(stack.settings.clickhouse_users_file)  # generated when the stack set ClickHouse up
    client = clickhouse_connect.get_client(
        host="127.0.0.1",
        port=stack.settings.ports.clickhouse,
        username=users.writer_user,
        password=users.writer_password.get_secret_value(),
    )
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    client.command(f"CREATE TABLE {table} (sku String, quantity UInt32) ENGINE = MergeTree ORDER BY sku")
    try:
        client.insert(table, [["A", 2], ["B", 3], ["A", 5]], column_names=["sku", "quantity"])
        rows = client.query(f"SELECT sku, sum(quantity) FROM {table} GROUP BY sku ORDER BY sku").result_rows
        assert rows == [("A", 7), ("B", 3)]
    finally:
        client.command(f"DROP TABLE {table}")


def test_redis_set_get(stack: Stack) -> None:
    client = redis.Redis(host="127.0.0.1", port=stack.settings.ports.redis)
    key = f"smoke:{uuid.uuid4().hex}"
    client.set(key, "v1", ex=60)
    assert client.get(key) == b"v1"
    client.delete(key)


async def test_a_faust_worker_joins_a_group_consumes_and_commits_on_kafka_4(stack: Stack, tmp_path: Path) -> None:
    bootstrap = f"127.0.0.1:{stack.settings.ports.kafka}"
    topic, group = f"faust-smoke-{uuid.uuid4().hex[:8]}", f"faust-smoke-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        for n in range(20):
            await producer.send(topic, f"v{n}".encode(), key=f"k{n % 4}".encode())
        await producer.stop()
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.infra.faust_probe", bootstrap, topic, group, "20", str(tmp_path),
            "worker", "-l", "warn", "--without-web",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = b""
        try:
            assert worker.stdout is not None
            async with asyncio.timeout(120):
                while b"COMMITTED" not in output:
                    line = await worker.stdout.readline()
                    assert line, f"the worker exited before committing:\n{output.decode()[-3000:]}"
                    output += line
        finally:
            worker.kill()
            await worker.wait()
        offsets = await admin.list_consumer_group_offsets(group)
        assert sum(meta.offset for meta in offsets.values()) == 20
    finally:
        await admin.delete_topics([topic])
        await admin.close()
