"""`cqrs import FILE`: send an NDJSON file of commands to `POST /commands/batch`, with a progress bar and a summary.

The file is sent in chunks of `--chunk-lines` lines (one request each, so any file size fits the body limit); line
numbers in the summary are the file's. Every line carries its own idempotency key, so re-running a file — after a
crash, a timeout or a fix of the bad lines — applies what is missing and replays the rest: nothing changes twice.
Keys are scoped to the token's subject: re-run with the same subject.

Exit codes: 0 every line applied (now or before), 1 some lines rejected, 2 the file cannot be read, 3 the writer
cannot be reached or refused the request itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
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


class ImportFailed(CommandFailure):
    """The import could not run to the end (exit code 1 is also a finished import with rejected lines)."""


class ImportFileError(ImportFailed, exit_code=2):
    """The file does not exist, is not a readable UTF-8 text file, or holds no command."""


class WriterUnreachable(ImportFailed, exit_code=3):
    """No answer from the writer (down, wrong URL), or it refused the request as a whole (token, size)."""


@dataclass(slots=True)
class ImportSummary:
    accepted: int = 0
    replayed: int = 0
    """Lines applied by an earlier run (same idempotency key and body): nothing changed this time."""
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """Result documents of bad lines (4xx) and failed ones (5xx: retry the file), with file line numbers."""

    @property
    def lines(self) -> int:
        return self.accepted + self.replayed + len(self.rejected)

    def add(self, result: dict[str, Any]) -> None:
        if result["outcome"] == "accepted":
            self.accepted += 1
        elif result["outcome"] == "replayed":
            self.replayed += 1
        else:
            self.rejected.append(result)


def read_chunks(path: Path, chunk_lines: int) -> tuple[int, Iterator[tuple[int, bytes]]]:
    """The number of commands in the file, and its chunks as (number of the chunk's first line - 1, bytes)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ImportFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImportFileError(f"{path}: is a directory, not an NDJSON file") from None
    except PermissionError:
        raise ImportFileError(f"{path}: not readable") from None
    except UnicodeDecodeError as error:
        raise ImportFileError(f"{path}: not UTF-8 text (byte {error.start}); expected NDJSON") from None
    lines = text.split("\n")
    commands = sum(1 for line in lines if line.strip())
    if not commands:
        raise ImportFileError(f"{path}: no commands (expected one JSON command per line)")

    def chunks() -> Iterator[tuple[int, bytes]]:
        for start in range(0, len(lines), chunk_lines):
            chunk = lines[start : start + chunk_lines]
            if any(line.strip() for line in chunk):
                yield start, "\n".join(chunk).encode()

    return commands, chunks()


def send_chunk(client: httpx.Client, offset: int, chunk: bytes) -> Iterator[dict[str, Any]]:
    """POST one chunk, yielding its results (line numbers made file-relative) as the writer streams them."""
    headers = {"content-type": "application/x-ndjson"}
    try:
        with client.stream("POST", BATCH_PATH, content=chunk, headers=headers) as response:
            if response.status_code != 200:
                response.read()
                status = response.status_code
                raise WriterUnreachable(f"the writer refused the batch: HTTP {status} {_detail(response)}")
            for text in response.iter_lines():
                if text:
                    result: dict[str, Any] = json.loads(text)
                    result["line"] += offset
                    yield result
    except httpx.HTTPError as error:
        raise WriterUnreachable(f"cannot reach the writer at {client.base_url}: {error}") from error


def run_import(path: Path, client: httpx.Client, console: Console, *, chunk_lines: int) -> ImportSummary:
    total, chunks = read_chunks(path, chunk_lines)
    summary = ImportSummary()
    columns = (
        TextColumn("[bold]importing[/] {task.fields[name]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[bad]} bad"), TimeElapsedColumn(), TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=total, name=path.name, bad=0)
        for offset, chunk in chunks:
            for result in send_chunk(client, offset, chunk):
                summary.add(result)
                progress.update(task, advance=1, bad=len(summary.rejected))
    return summary


def show(summary: ImportSummary, console: Console) -> None:
    table = Table(title="import summary")
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


def import_file(
    file: Annotated[Path, typer.Argument(help="NDJSON: one {command, idempotencyKey, body} per line.")],
    url: Annotated[str | None, typer.Option(help="The writer (default: the local stack's).")] = None,
    token: Annotated[
        str | None, typer.Option(envvar="CQRS_IMPORT_TOKEN", help="Bearer token (default: a dev staff token).")
    ] = None,
    chunk_lines: Annotated[int, typer.Option(min=1, help="Lines per request.")] = 10_000,
    report: Annotated[Path | None, typer.Option(help="Write the results of rejected lines here (NDJSON).")] = None,
) -> None:
    """Apply a file of commands through POST /commands/batch; safe to re-run (idempotency key per line)."""
    console = Console()
    try:
        with _client(url, token) as client:
            summary = run_import(file, client, console, chunk_lines=chunk_lines)
    except ImportFailed as error:
        Console(stderr=True).print(f"[red]error[/] {escape(str(error))}", highlight=False)
        raise typer.Exit(error.exit_code) from error
    show(summary, console)
    if report is not None:
        report.write_text("".join(json.dumps(result) + "\n" for result in summary.rejected))
    if summary.rejected:
        raise typer.Exit(1)


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
