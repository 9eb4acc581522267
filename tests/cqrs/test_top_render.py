"""How a frame reads: figures in their columns, unknowns as `-`, a failing projection's reason under the table."""

from __future__ import annotations

from rich.console import Console

from cqrs.top.frame import Frame, ProjectionRow, Relay
from cqrs.top.render import render


def text(frame: Frame) -> str:
    console = Console(width=100, record=True, color_system=None)
    console.print(render(frame))
    return console.export_text()


def frame(*rows: ProjectionRow, down: frozenset[str] = frozenset()) -> Frame:
    relay = Relay(connector_running=False, tasks={"FAILED": 1}, slot_active=False, unconfirmed_bytes=3 * 1024**2,
                  refusing=False)  # fmt: skip
    return Frame(2.0, 41.5, 0.5, 0.0123, 0.0, None, None, relay, list(rows), 7, down)


def test_figures_land_in_their_columns_and_unknowns_show_as_dashes() -> None:
    row = ProjectionRow("orders-mongo", 812.0, 1_234, 3.5, 0.42, 0.9, 2, 1)
    lines = text(frame(row)).splitlines()
    assert lines[1].split() == ["commands/s", "refused/s", "cmd", "p99", "writer", "5xx/s", "reads/s", "read", "p99",
                                "webhook", "lag"]  # fmt: skip
    assert lines[2].split() == ["41.5", "0.5", "12.3", "ms", "0.0", "-", "-", "7"]
    assert "connector running no, tasks 1 FAILED, slot streamed no, WAL lag 3.0 MiB, refusing no" in lines[3]
    mongo = next(line for line in lines if "orders-mongo" in line)
    assert mongo.replace("│", " ").split() == ["orders-mongo", "812.0", "1,234", "3.5", "0.42", "0.90", "2", "(1)"]


def test_a_failing_projection_names_its_error_under_the_table_and_a_silent_app_is_named() -> None:
    failing = ProjectionRow("orders-analytics", None, 0, 0.0, None, None, 0, 0, error="OperationalError: " + "x" * 300)
    output = text(frame(failing, down=frozenset({"readapi"})))
    row = next(line for line in output.splitlines() if "orders-analytics" in line and "│" in line)
    assert row.replace("│", " ").split() == ["orders-analytics", "error", "-", "-", "-", "-", "-"]
    reason = next(line for line in output.splitlines() if line.startswith("orders-analytics: OperationalError"))
    assert len(reason) <= 100  # cut to the width, not wrapped over the screen
    assert "not answering: readapi" in output.splitlines()[0]
