"""Batch import: NDJSON through POST /commands/batch and `cqrs import`, on the real writer and Postgres."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from typer import Typer
from typer.testing import CliRunner

from tests.servers import free_port
from writer.batch.commands import KINDS
from writer.handlers import COMMAND_NAMES
from writer.importer import import_file

pytestmark = pytest.mark.stack
LINES = 10_000
MALFORMED: list[tuple[str, str]] = [  # (line text with {n} for uniqueness, the field or problem it must name)
    ('{{"command": "create-order", "idempotencyKey": "k-{n}", "body": {{', "body"),  # cut-off JSON
    ('{{"command": "launch-rocket", "idempotencyKey": "k-{n}", "body": {{}}}}', "command"),
    ('{{"command": "create-order", "body": {{"customerId": "c", "currency": "EUR", "items": []}}}}', "idempotencyKey"),
    ("[{n}]", "body"),
]


def import_cli() -> Typer:
    app = Typer()
    app.command()(import_file)
    return app


def order_line(run: str, n: int) -> str:
    body = {
        "customerId": f"import-{run}",
        "currency": "EUR",
        "items": [{"sku": f"SKU-{n % 97}", "name": "Imported", "quantity": 1 + n % 3, "unitPrice": "4.20"}],
    }
    return json.dumps({"command": "create-order", "idempotencyKey": f"{run}-{n}", "body": body})


def bad_line(run: str, n: int) -> tuple[str, str]:
    """A line that must be refused: malformed JSON, unknown command, no key, not an object, money as a number."""
    kinds = len(MALFORMED) + 1
    if n % kinds < len(MALFORMED):
        text, field = MALFORMED[n % kinds]
        return text.format(n=n), field
    line = json.loads(order_line(run, n))
    line["body"]["items"][0]["unitPrice"] = 4.2
    return json.dumps(line), "body.items[0].unitPrice"


def ndjson_file(run: str) -> tuple[str, dict[int, str]]:
    """10k lines, 1 % of them bad (every 100th); line number → the field its problem names."""
    lines, bad = [], {}
    for number in range(1, LINES + 1):
        if number % 100 == 0:
            text, field = bad_line(run, number)
            lines.append(text)
            bad[number] = field
        else:
            lines.append(order_line(run, number))
    return "\n".join(lines) + "\n", bad


def post_batch(client: httpx.Client, content: str) -> list[dict[str, Any]]:
    with client.stream(
        "POST", "/commands/batch", content=content, headers={"content-type": "application/x-ndjson"}
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in r.iter_lines() if line]


def write_model(database_url: str, customer: str) -> tuple[int, int, int]:
    """(orders, sum of their versions, accepted commands on them) of one import's customer."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(o.version), 0),"
            " (SELECT count(*) FROM commands c JOIN orders o2 ON c.aggregate_id = o2.id::text"
            "  WHERE o2.customer_id = %(c)s)"
            " FROM orders o WHERE o.customer_id = %(c)s",
            {"c": customer},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_batch_of_10k_lines_applies_valid_ones_once_reports_bad_ones_and_a_rerun_changes_nothing(
    staff: httpx.Client, writer_url: str, orders_database_url: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    content, bad = ndjson_file(run)

    results = post_batch(staff, content)

    assert [result["line"] for result in results] == list(range(1, LINES + 1))  # one per line, in order
    for result in results:
        if result["line"] in bad:
            assert result["outcome"] == "rejected", result
            assert 400 <= result["status"] < 500, result
            fields = [error["field"] for error in result["problem"].get("errors", [])]
            assert bad[result["line"]] in fields, result
        else:
            assert (result["outcome"], result["version"]) == ("accepted", 1), result
    valid = LINES - len(bad)
    orders = {result["aggregateId"] for result in results if result["outcome"] == "accepted"}
    assert len(orders) == valid
    assert write_model(orders_database_url, f"import-{run}") == (valid, valid, valid)

    # The same file again, through the CLI: every valid line is a replay, the bad ones are reported again.
    path = tmp_path / "orders.ndjson"
    path.write_text(content)
    token = staff.headers["Authorization"].removeprefix("Bearer ")
    rerun = CliRunner().invoke(
        import_cli(),
        [str(path), "--url", writer_url, "--token", token, "--chunk-lines", "3000"],
        env={"COLUMNS": "200"},
    )
    assert rerun.exit_code == 1, rerun.output  # 1: some lines were rejected
    assert re.search(rf"already applied \(replayed\)\W+{valid:,}\b", rerun.output), rerun.output
    assert f"line {min(bad)}:" in rerun.output
    assert write_model(orders_database_url, f"import-{run}") == (valid, valid, valid)


def test_lines_on_one_order_apply_in_file_order(staff: httpx.Client) -> None:
    created = staff.post("/commands/create-order", json=json.loads(order_line("order", 1))["body"]).json()
    order_id, run = created["aggregateId"], uuid.uuid4().hex[:8]
    item = {"sku": "LATE", "name": "Late", "quantity": 1, "unitPrice": "1.00"}
    lines = [
        {"command": "add-item-to-order", "idempotencyKey": f"{run}-1", "body": {"orderId": order_id, "item": item}},
        {"command": "confirm-order", "idempotencyKey": f"{run}-2", "body": {"orderId": order_id}},
        {"command": "add-item-to-order", "idempotencyKey": f"{run}-3", "body": {"orderId": order_id, "item": item}},
    ]
    results = post_batch(staff, "\n".join(json.dumps(line) for line in lines))
    assert [(r["outcome"], r.get("version")) for r in results[:2]] == [("accepted", 2), ("accepted", 3)]
    assert results[2]["status"] == 409  # items of a confirmed order cannot change: it ran after the confirm


def test_import_names_a_bad_file_and_an_unreachable_writer(tmp_path: Path, writer_url: str) -> None:
    # Wide enough that the error box never wraps the message in the middle (long temporary paths did).
    missing = CliRunner(env={"COLUMNS": "400"}).invoke(
        import_cli(), [str(tmp_path / "nope.ndjson"), "--url", writer_url]
    )
    assert missing.exit_code == 2
    assert "no such file" in missing.output
    binary = tmp_path / "binary.ndjson"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert CliRunner().invoke(import_cli(), [str(binary), "--url", writer_url]).exit_code == 2
    empty = tmp_path / "empty.ndjson"
    empty.write_text("\n\n")
    assert CliRunner().invoke(import_cli(), [str(empty), "--url", writer_url]).exit_code == 2
    good = tmp_path / "one.ndjson"
    good.write_text(order_line(uuid.uuid4().hex, 1))
    down = CliRunner().invoke(import_cli(), [str(good), "--url", f"http://127.0.0.1:{free_port()}"])
    assert down.exit_code == 3
    assert "cannot reach the writer" in down.output


def test_batch_command_names_are_the_command_routes() -> None:
    assert set(KINDS) == set(COMMAND_NAMES.values())
