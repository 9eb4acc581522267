"""A frame as rich renderables: one line for the write side and the relay, one table for the projections."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from cqrs.top.frame import Frame, Relay


def _num(value: float | None, fmt: str = ",.1f") -> str:
    return "-" if value is None else format(value, fmt)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f} ms"


def _yes(flag: bool | None, good: bool = True) -> str:
    if flag is None:
        return "[yellow]?[/]"
    return f"[{'green' if flag == good else 'red'}]{'yes' if flag else 'no'}[/]"


def _bytes(size: int | None) -> str:
    if size is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size = size / 1024  # type: ignore[assignment]
    return f"{size}"


def _relay(relay: Relay) -> str:
    tasks = ", ".join(f"{count} {state}" for state, count in sorted(relay.tasks.items())) or "none"
    return (
        f"relay: connector running {_yes(relay.connector_running)}, tasks {escape(tasks)}, "
        f"slot streamed {_yes(relay.slot_active)}, WAL lag {_bytes(relay.unconfirmed_bytes)}, "
        f"refusing {_yes(relay.refusing, good=False)}"
    )


def render(frame: Frame) -> RenderableType:
    header = Text.from_markup(
        f"[bold]cqrs top[/] {time.strftime('%H:%M:%S', time.gmtime())} UTC, rates over {frame.seconds:.1f} s"
        + (f"  [red]not answering: {escape(', '.join(sorted(frame.down)))}[/]" if frame.down else "")
    )
    apis = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("commands/s", "refused/s", "cmd p99", "writer 5xx/s", "reads/s", "read p99", "webhook lag"):
        apis.add_column(column, justify="right", no_wrap=True)
    apis.add_row(
        _num(frame.commands_per_s), _num(frame.refused_per_s), _ms(frame.writer_p99_s), _num(frame.writer_5xx_per_s),
        _num(frame.readapi_per_s), _ms(frame.readapi_p99_s), _num(frame.webhook_lag, ","),
    )  # fmt: skip
    projections = Table(title="projections", title_justify="left")
    projections.add_column("projection", no_wrap=True)
    for column in ("events/s", "lag", "lag s", "fresh s", "p99 s", "DLQ (orders)"):
        projections.add_column(column, justify="right", no_wrap=True)
    for row in frame.projections:
        if row.error:  # the reason goes under the table, where a long one cannot stretch the columns
            projections.add_row(row.projection, "[red]error[/]", *["-"] * 5)
            continue
        projections.add_row(
            row.projection, _num(row.rate), f"{row.lag_events:,}", f"{row.lag_seconds:,.1f}",
            _num(row.freshness_s, ",.2f"), _num(row.freshness_p99_s, ",.2f"),
            f"{row.dlq_events:,} ({row.dlq_orders:,})",
        )  # fmt: skip
    errors = [
        Text(f"{row.projection}: {row.error}", style="red", no_wrap=True, overflow="ellipsis")
        for row in frame.projections
        if row.error
    ]
    return Group(header, apis, Text.from_markup(_relay(frame.relay)), projections, *errors)
