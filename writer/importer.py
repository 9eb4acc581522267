"""`cqrs import FILE`: send an NDJSON file of commands to `POST /commands/batch`, with progress and a summary.

The file is streamed in chunks of `--chunk-lines` command lines, one request each, at most `--in-flight` requests at
once: the writer applies each request's lines a transaction of a few hundred lines at a time, and the client reads
the next chunk only when a request slot is free, so neither side buffers more than a few chunks whatever the file's
size. Lines on the same order stay in file order: a chunk naming an order that a chunk still in flight names waits
for that one. Line numbers in the summary are the file's.

Every line carries its own idempotency key, so re-running a file — after a crash, a timeout, Ctrl-C or a fix of the
bad lines — applies what is missing and replays the rest: nothing changes twice, and that is how an interrupted
import resumes. Keys are scoped to the token's subject: re-run with the same subject.

Exit codes: 0 every line applied (now or before), 1 some lines rejected, 2 the file cannot be read, 3 the writer
cannot be reached or refused the request itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from infra.errors import CommandFailure

BATCH_PATH = "/commands/batch"
SHOWN_BAD_LINES = 20
PROGRESS_EVERY = 500
"""Results between two progress updates."""
BUSY_RETRIES = 20
"""How often a chunk the writer is too busy for (429, 503) is sent again, after the Retry-After it names."""
_ORDER_ID = re.compile(rb'"orderId"\s*:\s*"([^"]+)"')
"""An existing-order command's order (creates have none: the writer names new orders); a false match only makes a
chunk wait longer."""


class ImportFailed(CommandFailure):
    """The import could not run to the end (exit code 1 is also a finished import with rejected lines)."""


class ImportFileError(ImportFailed, exit_code=2):
    """The file does not exist, is not a readable UTF-8 text file, or holds no command."""


class WriterUnreachable(ImportFailed, exit_code=3):
    """No answer from the writer (down, wrong URL), or it refused the request as a whole (token, size)."""


@dataclass(frozen=True, slots=True)
class Lag:
    """One projection's consumer lag, as `cqrs projections status` reads it."""

    projection: str
    events: int
    seconds: float
    error: str | None = None


ProjectionLag = Callable[[], Awaitable[list[Lag]]]
"""The port through which the import reports how far the projections are behind when it ends (the composition
root reads the streams' status; the writer knows nothing of them)."""


@dataclass(slots=True)
class ImportSummary:
    accepted: int = 0
    replayed: int = 0
    """Lines applied by an earlier run (same idempotency key and body): nothing changed this time."""
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """Result documents of bad lines (4xx) and failed ones (5xx: retry the file), with file line numbers."""
    seconds: float = 0.0

    @property
    def lines(self) -> int:
        return self.accepted + self.replayed + len(self.rejected)

    @property
    def rate(self) -> float:
        """Lines per second over the whole import."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0

    def add(self, result: dict[str, Any]) -> None:
        if result["outcome"] == "accepted":
            self.accepted += 1
        elif result["outcome"] == "replayed":
            self.replayed += 1
        else:
            self.rejected.append(result)


@dataclass(frozen=True, slots=True)
class Chunk:
    offset: int
    """The number of file lines before the chunk's first line."""
    body: bytes
    commands: int
    order_ids: frozenset[bytes]


def count_commands(path: Path) -> int:
    """The file's command (non-blank) lines; `ImportFileError` if it cannot be read as UTF-8 NDJSON or has none."""
    commands = 0
    try:
        with path.open("rb") as file:
            for number, raw in enumerate(file, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise ImportFileError(f"{path}: not UTF-8 text (line {number}, byte {error.start})") from None
                commands += bool(raw.strip())
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not an NDJSON file") from None
    except PermissionError:
        raise ImportFileError(f"{path}: not readable") from None
    if not commands:
        raise ImportFileError(f"{path}: no commands (expected one JSON command per line)")
    return commands


def read_chunks(path: Path, chunk_lines: int) -> Iterator[Chunk]:
    """The file's chunks of `chunk_lines` commands, read as they are asked for."""
    with path.open("rb") as file:
        offset, lines, commands = 0, [], 0
        for raw in file:
            lines.append(raw)
            commands += bool(raw.strip())
            if commands == chunk_lines:
                yield _chunk(offset, lines, commands)
                offset, lines, commands = offset + len(lines), [], 0
        if commands:
            yield _chunk(offset, lines, commands)


def _chunk(offset: int, lines: list[bytes], commands: int) -> Chunk:
    body = b"".join(lines)
    return Chunk(offset, body, commands, frozenset(_ORDER_ID.findall(body)))


async def send_chunk(client: httpx.AsyncClient, chunk: Chunk) -> AsyncIterator[dict[str, Any]]:
    """POST one chunk, yielding its results (line numbers made file-relative) as the writer streams them; a busy
    writer's 429/503 is waited out (Retry-After) and the chunk sent again."""
    headers = {"content-type": "application/x-ndjson"}
    for attempt in range(BUSY_RETRIES + 1):
        try:
            async with client.stream("POST", BATCH_PATH, content=chunk.body, headers=headers) as response:
                if response.status_code in (429, 503) and attempt < BUSY_RETRIES:
                    await response.aread()
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))
                    continue
                if response.status_code != 200:
                    await response.aread()
                    status = response.status_code
                    raise WriterUnreachable(f"the writer refused the batch: HTTP {status} {_detail(response)}")
                async for text in response.aiter_lines():
                    if text:
                        result: dict[str, Any] = json.loads(text)
                        result["line"] += chunk.offset
                        yield result
                return
        except httpx.HTTPError as error:
            raise WriterUnreachable(f"cannot reach the writer at {client.base_url}: {error}") from error


Progressed = Callable[[ImportSummary], None]


async def import_lines(
    path: Path, client: httpx.AsyncClient, *, chunk_lines: int, in_flight: int, progressed: Progressed = lambda _: None
) -> ImportSummary:
    """Send the file's chunks, at most `in_flight` at once; `progressed` after each chunk."""
    summary = ImportSummary()
    started = time.perf_counter()
    slots = asyncio.Semaphore(in_flight)
    last_on_order: dict[bytes, asyncio.Task[None]] = {}
    running: set[asyncio.Task[None]] = set()
    errors: list[BaseException] = []

    async def send(chunk: Chunk, after: set[asyncio.Task[None]]) -> None:
        try:
            if after:
                await asyncio.gather(*after)  # an earlier chunk on one of its orders (if it failed, so does this)
            async for result in send_chunk(client, chunk):
                summary.add(result)
                if summary.lines % PROGRESS_EVERY == 0:
                    progressed(summary)
            progressed(summary)
        except BaseException as error:
            errors.append(error)
            raise
        finally:
            slots.release()

    try:
        for chunk in read_chunks(path, chunk_lines):
            await slots.acquire()  # the next chunk is read only when a request slot is free
            if errors:
                raise errors[0]
            after = {task for order_id in chunk.order_ids if (task := last_on_order.get(order_id)) and not task.done()}
            task = asyncio.create_task(send(chunk, after))
            running.add(task)
            task.add_done_callback(running.discard)
            for order_id in chunk.order_ids:
                last_on_order[order_id] = task
        await asyncio.gather(*running, return_exceptions=True)
        if errors:
            raise errors[0]
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    summary.seconds = time.perf_counter() - started
    summary.rejected.sort(key=lambda result: int(result["line"]))
    return summary


def run_import(
    path: Path,
    client: httpx.Client,
    console: Console,
    *,
    chunk_lines: int,
    in_flight: int = 2,
    lag: ProjectionLag | None = None,
) -> ImportSummary:
    """Import with a progress bar (lines/s, rejected so far, ETA) on `console`, through an async twin of `client`
    (same base URL, headers and time-outs); with `lag`, read the projections' lag when it ends."""
    total = count_commands(path)
    columns = (
        TextColumn("[bold]importing[/] {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8,.0f} lines/s"), TextColumn("{task.fields[bad]:,} rejected"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )  # fmt: skip

    async def main() -> ImportSummary:
        async with httpx.AsyncClient(base_url=client.base_url, headers=client.headers, timeout=client.timeout) as http:
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("import", total=total, name=path.name, bad=0, rate=0.0)
                started = time.perf_counter()

                def progressed(summary: ImportSummary) -> None:
                    rate = summary.lines / max(time.perf_counter() - started, 1e-9)
                    progress.update(task, completed=summary.lines, bad=len(summary.rejected), rate=rate)

                summary = await import_lines(
                    path, http, chunk_lines=chunk_lines, in_flight=in_flight, progressed=progressed
                )
            if lag is not None:
                show_rate_and_lag(summary, await _read_lag(lag), console)
            return summary

    return asyncio.run(main())


async def _read_lag(lag: ProjectionLag) -> list[Lag] | str:
    try:
        return await asyncio.wait_for(lag(), 15)
    except Exception as error:  # the import is done either way: say why the lag is unknown
        return f"{type(error).__name__}: {error}"


def show_rate_and_lag(summary: ImportSummary, lags: list[Lag] | str, console: Console) -> None:
    """The import's rate next to how far each projection is behind at its end."""
    table = Table(title=f"imported {summary.lines:,} lines at {summary.rate:,.0f} lines/s; the projections now")
    for column in ("projection", "lag (events)", "lag (s)"):
        table.add_column(column, justify="left" if column == "projection" else "right")
    if isinstance(lags, str):
        table.add_row("?", f"[yellow]unknown[/] ({escape(lags)})", "-")
    for lag in lags if not isinstance(lags, str) else []:
        if lag.error:
            table.add_row(lag.projection, f"[yellow]unknown[/] ({escape(lag.error)})", "-")
        else:
            table.add_row(lag.projection, f"{lag.events:,}", f"{lag.seconds:.1f}")
    console.print(table)


def show(summary: ImportSummary, console: Console) -> None:
    table = Table(title=f"import summary ({summary.rate:,.0f} lines/s)")
    table.add_column("outcome")
    table.add_column("lines", justify="right")
    table.add_row("applied now", f"{summary.accepted:,}")
    table.add_row("already applied (replayed)", f"{summary.replayed:,}")
    for title, count in Counter(_reason(result) for result in summary.rejected).most_common():
        table.add_row(f"[red]rejected[/]: {escape(title)}", f"{count:,}")
    console.print(table)
    for result in summary.rejected[:SHOWN_BAD_LINES]:
        console.print(f"  line {result['line']}: {escape(_explain(result))}", highlight=False)
    if len(summary.rejected) > SHOWN_BAD_LINES:
        console.print(f"  … and {len(summary.rejected) - SHOWN_BAD_LINES} more (see --report)")


def import_command(lag: ProjectionLag | None) -> Callable[..., None]:
    """The `import` command; with `lag`, it ends by showing the projections' lag next to the import's rate."""

    def import_file(
        file: Annotated[Path, typer.Argument(help="NDJSON: one {command, idempotencyKey, body} per line.")],
        url: Annotated[str | None, typer.Option(help="The writer (default: the local stack's).")] = None,
        token: Annotated[
            str | None, typer.Option(envvar="CQRS_IMPORT_TOKEN", help="Bearer token (default: a dev staff token).")
        ] = None,
        chunk_lines: Annotated[int, typer.Option(min=1, help="Command lines per request.")] = 5_000,
        in_flight: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 2,
        report: Annotated[Path | None, typer.Option(help="Write the results of rejected lines here (NDJSON).")] = None,
    ) -> None:
        """Apply a file of commands through POST /commands/batch; safe to re-run, which is also how an interrupted
        import resumes (an idempotency key per line: applied lines are replayed, not applied twice)."""
        console = Console()
        try:
            with _client(url, token) as client:
                summary = run_import(file, client, console, chunk_lines=chunk_lines, in_flight=in_flight, lag=lag)
        except ImportFailed as error:
            Console(stderr=True).print(f"[red]error[/] {escape(str(error))}", highlight=False)
            if isinstance(error, WriterUnreachable):
                Console(stderr=True).print("run the same command again to resume: applied lines are only replayed")
            raise typer.Exit(error.exit_code) from error
        show(summary, console)
        if report is not None:
            report.write_text("".join(json.dumps(result) + "\n" for result in summary.rejected))
        if summary.rejected:
            raise typer.Exit(1)

    return import_file


import_file = import_command(None)
"""`import` without the projections' lag (the writer alone); `cqrs import` is `cqrs.writer_cli.import_file`."""


def _client(url: str | None, token: str | None) -> httpx.Client:
    from infra.settings import stack_settings

    base_url = url or f"http://127.0.0.1:{stack_settings().ports.writer}"
    if token is None:
        from servicekit.principals import Role
        from servicekit.tokens import mint_token
        from writer.settings import writer_settings

        token = mint_token(writer_settings(), subject="importer", roles=[Role.STAFF])
    # No read timeout: a chunk's results stream for as long as it takes to apply them.
    timeout = httpx.Timeout(10.0, read=None)
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return response.text[:200]


def _reason(result: dict[str, Any]) -> str:
    return str(result["problem"]["title"])


def _explain(result: dict[str, Any]) -> str:
    problem = result["problem"]
    fields = "; ".join(f"{error['field']}: {error['message']}" for error in problem.get("errors", []))
    return f"{problem['title']} — {fields or problem['detail']}"
