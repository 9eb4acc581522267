"""The read-model contract (`streams.contract`): the names and Redis keys both sides use, and nothing heavier."""

from __future__ import annotations

import subprocess
import sys

from streams import contract
from streams.contract import MirrorKeys, decode_partition, encode_partition
from streams.projections import PROJECTIONS


def test_the_projections_are_the_contracts_names() -> None:
    assert tuple(PROJECTIONS) == contract.PROJECTIONS
    assert contract.PROJECTIONS == (contract.DETAIL, contract.SEARCH, contract.ANALYTICS, contract.LIST)


def test_importing_the_contract_loads_no_store_client() -> None:
    clients = ("psycopg", "pymongo", "elasticsearch", "clickhouse_connect", "aiokafka", "faust", "redis", "pydantic")
    probe = f"import sys, streams.contract; print([m for m in {clients!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


def test_mirror_keys_of_a_projection() -> None:
    keys = MirrorKeys("streams", "orders-mongo")
    assert keys.active == "streams:orders-mongo:active"
    assert keys.applied == "streams:orders-mongo:applied"
    assert keys.of_generation(2) == [
        "streams:orders-mongo:g2:partitions",
        "streams:orders-mongo:g2:versions",
        "streams:orders-mongo:g2:stats",
    ]


def test_scripts_build_the_same_generation_keys_around_the_active_generation() -> None:
    keys = MirrorKeys("p", "orders-search")
    for key_of, (head, tail) in (
        (keys.partitions, keys.around_generation("partitions")),
        (keys.versions, keys.around_generation("versions")),
        (keys.stats, keys.around_generation("stats")),
    ):
        assert f"{head}17{tail}" == key_of(17)


def test_partition_values_round_trip_as_text_and_bytes() -> None:
    value = encode_partition(1234, 1_700_000_000_123)
    assert decode_partition(value) == decode_partition(value.encode()) == (1234, 1_700_000_000_123)
