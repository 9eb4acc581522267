"""Reading the outbox from the WAL the way Debezium does: a pgoutput logical slot on the publication.

Only the parts of the pgoutput protocol (version 1, text tuples) the tests need are decoded: Relation,
Insert and Delete messages; the rest are skipped.
https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg

PUBLICATION = "cqrs_outbox"


@dataclass(frozen=True, slots=True)
class RowChange:
    kind: str  # "insert" or "delete"
    table: str
    columns: dict[str, str | None]  # text format, as pgoutput sends it; a delete carries only the key


@asynccontextmanager
async def logical_slot(conn: psycopg.AsyncConnection, name: str) -> AsyncIterator[str]:
    """A pgoutput slot that exists for the block only (a forgotten slot would pin WAL forever)."""
    await conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
    try:
        yield name
    finally:
        await conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))


async def consume_changes(conn: psycopg.AsyncConnection, slot: str) -> list[RowChange]:
    cursor = await conn.execute(
        "SELECT data FROM pg_logical_slot_get_binary_changes(%s, NULL, NULL,"
        " 'proto_version', '1', 'publication_names', %s)",
        (slot, PUBLICATION),
    )
    relations: dict[int, tuple[str, list[str]]] = {}
    changes = []
    for (data,) in await cursor.fetchall():
        change = _decode(bytes(data), relations)
        if change is not None:
            changes.append(change)
    return changes


def bytea_from_text(value: str | None) -> bytes:
    """pgoutput sends bytea in its text form, `\\x` followed by hex."""
    assert value is not None
    assert value.startswith("\\x"), value
    return bytes.fromhex(value[2:])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return int(value)

    def byte(self) -> str:
        self.at += 1
        return chr(self.data[self.at - 1])

    def string(self) -> str:
        end = self.data.index(b"\x00", self.at)
        text = self.data[self.at : end].decode()
        self.at = end + 1
        return text

    def raw(self, length: int) -> bytes:
        self.at += length
        return self.data[self.at - length : self.at]


def _decode(data: bytes, relations: dict[int, tuple[str, list[str]]]) -> RowChange | None:
    reader = _Reader(data)
    kind = reader.byte()
    if kind == "R":
        oid = reader.take(">I")
        reader.string()  # namespace
        table = reader.string()
        reader.byte()  # replica identity setting
        names = []
        for _ in range(reader.take(">H")):
            reader.byte()  # flags
            names.append(reader.string())
            reader.take(">I")  # type oid
            reader.take(">i")  # type modifier
        relations[oid] = (table, names)
        return None
    if kind in ("I", "D"):
        table, names = relations[reader.take(">I")]
        reader.byte()  # 'N' (new tuple) for inserts, 'K' (key) or 'O' (old) for deletes
        values = _tuple(reader)
        columns = {name: value for name, value in zip(names, values, strict=True) if value != _UNCHANGED}
        return RowChange("insert" if kind == "I" else "delete", table, columns)
    return None  # Begin, Commit, Origin, Type, …


_UNCHANGED = "\x00unchanged"


def _tuple(reader: _Reader) -> list[str | None]:
    values: list[str | None] = []
    for _ in range(reader.take(">H")):
        flag = reader.byte()
        if flag == "n":
            values.append(None)
        elif flag == "u":
            values.append(_UNCHANGED)
        else:
            values.append(reader.raw(reader.take(">I")).decode())
    return values
