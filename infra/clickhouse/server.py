"""The ClickHouse HTTP service: `python -m infra.clickhouse.server --data-dir DIR [--host H] [--port P]`
(+ `--users-file F`).

Routes: `/` (queries, GET read-only / POST), `/ping` (health, "Ok."), `/metrics` (Prometheus). Settings come
from `CQRS_CLICKHOUSE_*` env vars (see config.py); the flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import ValidationError

from infra.clickhouse.compression import decompress_body, encode_response
from infra.clickhouse.config import ServerSettings
from infra.clickhouse.credentials import CredentialsError
from infra.clickhouse.engine import ChdbEngine, EngineResult, EngineWorker, SessionName
from infra.clickhouse.errors import BAD_ARGUMENTS, NOT_IMPLEMENTED, SYNTAX_ERROR, ClickHouseError
from infra.clickhouse.native_compression import compress_blocks, decompress_blocks
from infra.clickhouse.native_format import needs_reframing, reframe
from infra.clickhouse.observability import Metrics, configure_logging, metric_kind
from infra.clickhouse.protocol import (
    Role,
    Transport,
    User,
    UserDirectory,
    content_type,
    credentials,
    form_fields,
    full_query,
    query_request,
    refuse_cross_site,
    transport,
)
from infra.clickhouse.sql import Statement, format_name_is_valid, is_session_statement, parse_statement

log = structlog.get_logger("infra.clickhouse")

# Statements longer than this are lexed off the event loop (large INSERT ... VALUES texts), and answers longer than
# this are compressed off it.
_PARSE_INLINE_LIMIT = 64 * 1024
_ENCODE_INLINE_LIMIT = 64 * 1024
# clickhouse-server's keep_alive_timeout; uvicorn's 5 s default makes pooled client connections churn.
_KEEP_ALIVE_S = 30


async def _read_body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ClickHouseError.raised_here(
                BAD_ARGUMENTS, f"Request body exceeds max_request_bytes ({limit})", http_status=413
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _encode(body: bytes, how: Transport) -> tuple[bytes, dict[str, str]]:
    """clickhouse-server's layering: compressed blocks inside, HTTP compression around them."""
    headers: dict[str, str] = {}
    if how.compress:
        body = compress_blocks(body)
    if how.http_encoding is not None:
        body = encode_response(body, how.http_encoding, how.http_level)
        headers["Content-Encoding"] = how.http_encoding
    return body, headers


@dataclass(slots=True)
class _Reply:
    """How the answer travels, known once the request's credentials and URL parameters have been read: errors
    raised before that (authentication) are answered plain, as clickhouse-server does."""

    transport: Transport = field(default_factory=Transport)


class QueryHandler:
    """One HTTP request → at most one engine call, with one log line and its metrics."""

    def __init__(self, settings: ServerSettings, worker: EngineWorker, metrics: Metrics) -> None:
        self._settings = settings
        self._worker = worker
        self._metrics = metrics
        self._users = UserDirectory(
            [
                User(settings.writer_user, settings.writer_password.get_secret_value(), Role.WRITER),
                User(settings.analyst_user, settings.analyst_password.get_secret_value(), Role.ANALYST),
            ]
        )

    async def __call__(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "GET" and "query" not in params:
            return PlainTextResponse("Ok.\n")  # clickhouse-server answers a bare GET / like /ping
        started = time.perf_counter()
        fields: dict[str, Any] = {"user": "-", "kind": "", "query_id": params.get("query_id", "")}
        self._metrics.in_flight.inc()
        reply = _Reply()
        try:
            response = await self._answer(request, params, fields, reply)
        except ClickHouseError as exc:
            response = self._error(exc, fields, reply.transport)
        except Exception as exc:  # a bug here must cost one request, never the service
            log.exception("query_failed_internally", **fields)
            response = self._error(ClickHouseError.from_engine(exc), fields, reply.transport)
        finally:
            self._metrics.in_flight.dec()
        elapsed = time.perf_counter() - started
        kind = metric_kind(fields["kind"])
        self._metrics.duration.labels(kind).observe(elapsed)
        self._metrics.queries.labels(fields["user"], kind, fields.get("error", "ok")).inc()
        log.info("query", status=response.status_code, duration_ms=round(elapsed * 1000, 3), **fields)
        return response

    async def _answer(
        self, request: Request, params: dict[str, str], fields: dict[str, Any], reply: _Reply
    ) -> Response:
        refuse_cross_site(request.headers)
        user = self._users.authenticate(*credentials(request.headers, params))
        fields["user"] = user.name
        reply.transport = transport(request.headers, params)
        body = await _read_body(request, self._settings.max_request_bytes)
        fields["request_bytes"] = len(body)
        limit = self._settings.max_decompressed_bytes
        if body and request.headers.get("content-encoding"):
            body = await asyncio.to_thread(decompress_body, body, request.headers["content-encoding"], limit)
        if body and reply.transport.decompress:
            body = await asyncio.to_thread(decompress_blocks, body, limit, verify=reply.transport.verify_checksums)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            params.update(form_fields(content_type, body))  # `query` and `param_*` sent as form fields
            body = b""
        query = query_request(request.headers, params)
        fields["query_id"] = query.query_id
        raw = full_query(params, body)
        if not raw.strip():
            raise ClickHouseError.raised_here(SYNTAX_ERROR, "Empty query")
        statement = (
            parse_statement(raw) if len(raw) <= _PARSE_INLINE_LIMIT else await asyncio.to_thread(parse_statement, raw)
        )
        fields["kind"] = statement.kind
        self._check(statement, query.default_format)
        # GET is read-only in clickhouse-server too; there it means readonly=2, here the readonly=1 session.
        session: SessionName = "reader" if user.role is Role.ANALYST or request.method == "GET" else "writer"
        result, waited = await self._worker.run(lambda engine: engine.execute(session, query, statement))
        if result.output_format and needs_reframing(result.output_format, params.get("client_protocol_version")):
            body = result.body
            framed = await asyncio.to_thread(reframe, body) if len(body) > _ENCODE_INLINE_LIMIT else reframe(body)
            result = replace(result, body=framed)
        self._metrics.queue_wait.observe(waited)
        self._metrics.written_rows.inc(result.summary.written_rows)
        self._metrics.read_rows.inc(result.summary.read_rows)
        fields.update(
            queue_ms=round(waited * 1000, 3),
            engine_ms=round(result.summary.elapsed_ns / 1e6, 3),
            read_rows=result.summary.read_rows,
            written_rows=result.summary.written_rows,
            result_bytes=len(result.body),
        )
        return await self._ok(result, query.query_id, query.settings.get("session_timezone"), reply.transport)

    @staticmethod
    def _check(statement: Statement, default_format: str) -> None:
        if is_session_statement(statement.kind):
            raise ClickHouseError.raised_here(
                NOT_IMPLEMENTED,
                f"{statement.kind} statements are not supported: this server keeps no HTTP sessions. "
                "Pass settings per query (client settings / URL parameters) and the database as `database`",
            )
        for name in (statement.output_format or default_format, statement.insert_format):
            if name is not None and not format_name_is_valid(name):
                raise ClickHouseError.raised_here(BAD_ARGUMENTS, f"Invalid format name {name!r}")

    async def _ok(self, result: EngineResult, query_id: str, session_timezone: str | None, how: Transport) -> Response:
        engine = self._worker.engine
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Summary": result.summary.header(),
            "X-ClickHouse-Timezone": session_timezone or engine.timezone,
        }
        if len(result.body) > _ENCODE_INLINE_LIMIT and (how.compress or how.http_encoding):
            body, encoding = await asyncio.to_thread(_encode, result.body, how)
        else:
            body, encoding = _encode(result.body, how)
        headers.update(encoding)
        if result.output_format is None:
            return Response(body, headers=headers, media_type="text/plain; charset=UTF-8")
        headers["X-ClickHouse-Format"] = result.output_format
        return Response(body, headers=headers, media_type=content_type(result.output_format))

    def _error(self, exc: ClickHouseError, fields: dict[str, Any], how: Transport) -> Response:
        """Error bodies travel like answers (clickhouse-server writes them into the same, possibly compressed,
        stream); the drivers that ask for compressed blocks decode them so."""
        fields.update(error=exc.name, error_code=exc.code)
        headers = {"X-ClickHouse-Exception-Code": str(exc.code)}
        if fields.get("query_id"):
            headers["X-ClickHouse-Query-Id"] = fields["query_id"]
        version = self._worker.engine.version if self._worker.started else "unknown"
        body, encoding = _encode(exc.body(version), how)
        headers.update(encoding)
        return Response(body, status_code=exc.http_status, headers=headers, media_type="text/plain; charset=UTF-8")


def create_app(settings: ServerSettings) -> FastAPI:
    worker = EngineWorker(
        lambda: ChdbEngine(
            settings.data_dir,
            writer_limits={"max_execution_time": settings.writer_max_execution_time_s},
            reader_limits={
                "max_execution_time": settings.analyst_max_execution_time_s,
                "max_memory_usage": settings.analyst_max_memory_usage,
                "max_result_bytes": settings.analyst_max_result_bytes,
            },
        )
    )
    metrics = Metrics()
    handler = QueryHandler(settings, worker, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await worker.start()
        engine = worker.engine
        log.info("started", data_dir=str(settings.data_dir), version=engine.version, timezone=engine.timezone)
        try:
            yield
        finally:
            await worker.stop()  # closes the chdb sessions: data is flushed, the data dir released
            log.info("stopped")

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_api_route("/", handler, methods=["GET", "POST"], include_in_schema=False)

    async def ping() -> PlainTextResponse:
        return PlainTextResponse("Ok.\n")

    async def prometheus() -> Response:
        payload, media_type = metrics.render()
        return Response(payload, media_type=media_type)

    app.add_api_route("/ping", ping, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/metrics", prometheus, methods=["GET"], include_in_schema=False)
    return app


def main(
    data_dir: str | Path | None = None,
    host: str | None = None,
    port: int | None = None,
    users_file: str | Path | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; arguments left as None come from the environment (or the defaults)."""
    given = {"data_dir": data_dir, "host": host, "port": port, "users_file": users_file}
    overrides: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    try:
        settings = ServerSettings(**overrides)
    except (ValidationError, CredentialsError) as exc:
        raise SystemExit(f"clickhouse server: {exc}") from exc
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON logging configured above
        log_level=settings.log_level,
        access_log=False,  # one structured line per query is logged instead
        timeout_keep_alive=_KEEP_ALIVE_S,
        lifespan="on",
    )
    uvicorn.Server(config).run()


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.clickhouse.server", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="chdb data directory (CQRS_CLICKHOUSE_DATA_DIR)")
    parser.add_argument("--host", help="listen address (CQRS_CLICKHOUSE_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen port (CQRS_CLICKHOUSE_PORT, default 8123)")
    parser.add_argument("--users-file", type=Path, help="users and passwords, JSON (CQRS_CLICKHOUSE_USERS_FILE)")
    args = parser.parse_args(argv)
    main(args.data_dir, args.host, args.port, args.users_file)


if __name__ == "__main__":
    cli()
