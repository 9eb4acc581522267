"""The chdb engine of this process, driven from one dedicated thread.

chdb hosts one engine per process (bound to the data dir) and is not safe for concurrent queries, so every
engine call runs on a single worker thread: that serializes them in arrival order, needs no lock, and keeps
the asyncio event loop free while a query runs.

One chdb connection is one ClickHouse session (its own SET/USE state), so there are two:
- writer: full access;
- reader: `readonly=1`, enforced by the engine itself (the analyst user and every HTTP GET use it).
Per-request settings and the database are applied to a session as a *diff* against what it currently has, so
the common case (clickhouse-connect sends the same few settings every time) costs no extra engine call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import chdb

from infra.clickhouse.errors import ClickHouseError
from infra.clickhouse.protocol import QueryRequest, Summary
from infra.clickhouse.sql import Statement

T = TypeVar("T")
# chdb's own signature is untyped; one typed alias keeps the strict type check meaningful around it.
_chdb_connect: Callable[[str], Any] = chdb.connect
SessionName = Literal["writer", "reader"]


@dataclass(frozen=True, slots=True)
class EngineResult:
    body: bytes
    output_format: str | None  # None for statements without a result set (DDL, INSERT)
    summary: Summary


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1e9)


def _quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _no_looser(requested: str, ceiling: int) -> bool:
    """Whether a requested limit is the session's fixed one or looser (0 = none), so the session already honours
    what the request asks: it may stay unapplied. Unparsable values are left to the engine to judge."""
    try:
        value = float(requested)
    except ValueError:
        return False
    return ceiling > 0 and (value == 0 or value >= ceiling)


class _Session:
    """One chdb connection plus what this server has changed in it."""

    def __init__(
        self, connect: Callable[[], Any], setup: Sequence[str], ceilings: Mapping[str, int] | None = None
    ) -> None:
        """`ceilings`: limits fixed in the session (readonly=1 forbids changing them). Drivers send such limits
        unasked (clickhouse-go: `max_execution_time` = its context deadline + 5 s); a request that asks for the
        same or a looser one is served under the fixed limit, a tighter one is refused by the engine (164)."""
        self._connect = connect
        self._setup = setup
        self._ceilings = dict(ceilings or {})
        self._open()

    def _open(self) -> None:
        self.conn = self._connect()
        for statement in self._setup:
            self.conn.query(statement, "TabSeparated")
        # Every setting's starting value: a request asking for it needs no SET, and one that changed it can be
        # restored exactly (chdb changes a few defaults itself).
        rows = self.conn.query("SELECT name, value, changed FROM system.settings", "JSONEachRow").bytes()
        self.initial = {row["name"]: (row["value"], bool(row["changed"])) for row in map(json.loads, rows.splitlines())}
        self.applied: dict[str, str] = {}
        self.database = "default"

    def _reopen(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self._open()

    def _restore(self, name: str) -> None:
        value, changed = self.initial.get(name, ("", False))
        if not changed:
            literal = "DEFAULT"
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            literal = value  # already a literal, e.g. max_threads = 'auto(2)'
        else:
            literal = _quote_string(value)
        self.conn.query(f"SET {name} = {literal}", "TabSeparated")

    def sync(self, settings: Mapping[str, str], database: str) -> None:
        try:
            for name in [name for name in self.applied if name not in settings]:
                self._restore(name)
                del self.applied[name]
        except Exception:
            # An earlier request's readonly=1 or allow_ddl=0 forbids changing settings back: start afresh.
            self._reopen()
        # readonly last: once it is set, the session may change no other setting.
        for name, value in sorted(settings.items(), key=lambda item: item[0] == "readonly"):
            if name in self._ceilings and _no_looser(value, self._ceilings[name]):
                continue
            current = self.applied[name] if name in self.applied else self.initial.get(name, (None, False))[0]
            if value != current:
                # Quoted even for numbers: the engine converts a string literal to the setting's type.
                self.conn.query(f"SET {name} = {_quote_string(value)}", "TabSeparated")
                self.applied[name] = value
        if database != self.database:
            self.conn.query(f"USE {_quote_identifier(database)}", "TabSeparated")
            self.database = database

    def close(self) -> None:
        self.conn.close()


# Statements that produce a result set even when it is empty; clickhouse-connect's command() tells "empty
# result" from "no result" by the X-ClickHouse-Format header.
_RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS", "CHECK", "VALUES"})


class ChdbEngine:
    """Synchronous; call only from the engine thread (see EngineWorker)."""

    def __init__(self, data_dir: Path, *, writer_limits: Mapping[str, int], reader_limits: Mapping[str, int]) -> None:
        """`*_limits`: engine settings (max_execution_time, max_memory_usage, …) fixed for that session."""
        # chdb compares engine paths literally: one spelling per directory.
        path = os.path.realpath(data_dir)
        Path(path).mkdir(parents=True, exist_ok=True)
        try:
            writer = _Session(
                partial(_chdb_connect, path), [f"SET {name} = {int(value)}" for name, value in writer_limits.items()]
            )
        except Exception as exc:
            raise RuntimeError(f"cannot open chdb data dir {path} (another process may own it): {exc}") from exc
        # readonly last: once set, the session can change no setting, these limits included.
        reader_setup = [f"SET {name} = {int(value)}" for name, value in reader_limits.items()] + ["SET readonly = 1"]
        self._sessions: dict[SessionName, _Session] = {
            "writer": writer,
            "reader": _Session(partial(_chdb_connect, path), reader_setup, reader_limits),
        }
        info = writer.conn.query("SELECT version(), timezone()", "TabSeparated").bytes().decode()
        version, timezone = info.split()
        self.version: str = version
        self.timezone: str = timezone

    def execute(self, session_name: SessionName, request: QueryRequest, statement: Statement) -> EngineResult:
        session = self._sessions[session_name]
        try:
            session.sync(request.settings, request.database)
            started = time.perf_counter()
            if statement.insert_format is not None:
                summary = self._insert(session, statement)
                return EngineResult(b"", None, replace(summary, elapsed_ns=_since(started)))
            output_format = statement.output_format or request.default_format
            result = session.conn.query(statement.sql, output_format, params=dict(request.params))
            body = result.bytes()
        except ClickHouseError:
            raise
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from exc
        has_result = bool(body) or statement.kind in _RESULT_KINDS
        return EngineResult(
            body=body,
            output_format=output_format if has_result else None,
            summary=Summary(
                read_rows=result.rows_read(),
                read_bytes=result.bytes_read(),
                written_rows=result.rows_written(),
                written_bytes=result.bytes_written(),
                result_bytes=len(body),
                elapsed_ns=_since(started),
            ),
        )

    @staticmethod
    def _insert(session: _Session, statement: Statement) -> Summary:
        """Streams the data straight into the engine (no temp file). The session accepts nothing else while an
        insert is open, so a failed one is always cancelled."""
        assert statement.insert_format is not None
        inserter = session.conn.send_insert(statement.sql, statement.insert_format)
        try:
            if statement.data:
                inserter.append(statement.data)
            written = inserter.finish()
        except BaseException:
            with contextlib.suppress(Exception):
                inserter.cancel()
            raise
        # chdb's own `elapsed` of a streaming insert is not the insert's duration; the caller measures it.
        return Summary(written_rows=written.rows_written, written_bytes=written.bytes_written)

    def close(self) -> None:
        for session in self._sessions.values():
            with contextlib.suppress(Exception):
                session.close()


class EngineWorker:
    """Runs engine calls on one dedicated thread, in arrival order, awaitable from the event loop."""

    def __init__(self, factory: Callable[[], ChdbEngine]) -> None:
        self._factory = factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chdb-engine")
        self._engine: ChdbEngine | None = None

    @property
    def started(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> ChdbEngine:
        if self._engine is None:
            raise RuntimeError("engine not started")
        return self._engine

    async def start(self) -> None:
        # Opened on the engine thread itself: every chdb call of the process happens on that one thread.
        self._engine = await asyncio.get_running_loop().run_in_executor(self._executor, self._factory)

    async def run(self, call: Callable[[ChdbEngine], T]) -> tuple[T, float]:
        """Returns the call's result and how long it waited for the engine thread (seconds)."""
        engine = self.engine
        submitted = time.perf_counter()
        waited = 0.0

        def job() -> T:
            nonlocal waited
            waited = time.perf_counter() - submitted
            return call(engine)

        result = await asyncio.get_running_loop().run_in_executor(self._executor, job)
        return result, waited

    async def stop(self) -> None:
        if self._engine is not None:
            engine, self._engine = self._engine, None
            await asyncio.get_running_loop().run_in_executor(self._executor, engine.close)
        self._executor.shutdown(wait=True)
