"""Bad input: every request gets a problem+json answer (never a 5xx) and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.writer.helpers import assert_problem, create_order, line, new_order, order_row, row_counts

Auth = Callable[..., dict[str, str]]
UNKNOWN_ORDER = "8c0c5a1e-2d51-4a3e-9c57-0d7c1b6f0a11"


class Case:
    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        self.method, self.path, self.status = method, path, status
        self.json, self.content, self.headers, self.field = json, content, headers or {}, field


def with_item(**changes: Any) -> dict[str, Any]:
    return new_order(items=[{**line(), **changes}])


CASES = {
    "malformed json": Case(
        "POST", "/orders", 400, content=b'{"customerId": "c", ', headers={"Content-Type": "application/json"}
    ),
    "body is not an object": Case("POST", "/orders", 422, json=[new_order()], field="body"),
    "no body": Case("POST", "/orders", 422, field="body"),
    "text instead of json": Case(
        "POST", "/orders", 422, content=b"customerId=c", headers={"Content-Type": "text/plain"}
    ),
    "missing field": Case(
        "POST", "/orders", 422, json={"customerId": "customer-1", "items": [line()]}, field="currency"
    ),
    "extra field": Case("POST", "/orders", 422, json=new_order(discount="5.00"), field="discount"),
    "extra field in a line": Case("POST", "/orders", 422, json=with_item(colour="red"), field="items[0].colour"),
    "negative quantity": Case("POST", "/orders", 422, json=with_item(quantity=-1), field="items[0].quantity"),
    "zero quantity": Case("POST", "/orders", 422, json=with_item(quantity=0), field="items[0].quantity"),
    "huge quantity": Case("POST", "/orders", 422, json=with_item(quantity=10**30), field="items[0].quantity"),
    "quantity as text": Case("POST", "/orders", 422, json=with_item(quantity="2"), field="items[0].quantity"),
    "fractional quantity": Case("POST", "/orders", 422, json=with_item(quantity=1.5), field="items[0].quantity"),
    "float-looking money": Case("POST", "/orders", 422, json=with_item(unitPrice=19.99), field="items[0].unitPrice"),
    "integer money": Case("POST", "/orders", 422, json=with_item(unitPrice=20), field="items[0].unitPrice"),
    "money with 3 decimals": Case(
        "POST", "/orders", 422, json=with_item(unitPrice="1.999"), field="items[0].unitPrice"
    ),
    "negative money": Case("POST", "/orders", 422, json=with_item(unitPrice="-1.00"), field="items[0].unitPrice"),
    "money in exponent form": Case("POST", "/orders", 422, json=with_item(unitPrice="1e3"), field="items[0].unitPrice"),
    "money beyond the maximum": Case(
        "POST", "/orders", 422, json=with_item(unitPrice="99999999999.00"), field="items[0].unitPrice"
    ),
    "malformed currency": Case("POST", "/orders", 422, json=new_order(currency="euro"), field="currency"),
    "unsupported currency": Case("POST", "/orders", 422, json=new_order(currency="XXX"), field="currency"),
    "blank sku": Case("POST", "/orders", 422, json=with_item(sku="   "), field="items[0].sku"),
    "NUL in a name": Case("POST", "/orders", 422, json=with_item(name="Wid\u0000get"), field="items[0].name"),
    "no lines": Case("POST", "/orders", 422, json=new_order(items=[]), field="items"),
    "too many lines": Case(
        "POST", "/orders", 422, json=new_order(items=[line(f"S{n}") for n in range(101)]), field="items"
    ),
    "bad country": Case(
        "POST",
        "/orders",
        422,
        json=new_order(shippingAddress={"line1": "x", "city": "y", "postalCode": "1", "country": "Germany"}),
        field="shippingAddress.country",
    ),
    "unknown order (task)": Case("POST", "/commands/confirm-order", 404, json={"orderId": UNKNOWN_ORDER}),
    "unknown order (rest)": Case("POST", f"/orders/{UNKNOWN_ORDER}/confirm", 404),
    "order id that is no uuid (rest)": Case("POST", "/orders/not-a-uuid/cancel", 404, json={"reason": "x"}),
    "order id that is no uuid (task)": Case(
        "POST", "/commands/confirm-order", 422, json={"orderId": "not-a-uuid"}, field="orderId"
    ),
    "unknown item": Case("DELETE", "/orders/{order_id}/items/no-such-item", 404),
    "expected version zero": Case(
        "POST", "/orders/{order_id}/confirm", 422, json={"expectedVersion": 0}, field="expectedVersion"
    ),
    "blank cancel reason": Case("POST", "/orders/{order_id}/cancel", 422, json={"reason": " "}, field="reason"),
    "NUL in a cancel reason": Case(
        "POST", "/orders/{order_id}/cancel", 422, json={"reason": "oops\u0000"}, field="reason"
    ),
    "line with wrong types (rest)": Case(
        "POST", "/orders/{order_id}/items", 422, json={**line(), "unitPrice": 5}, field="unitPrice"
    ),
    "blank sku of a new line (rest)": Case(
        "POST", "/orders/{order_id}/items", 422, json={**line(), "sku": "  "}, field="sku"
    ),
    "shipping a pending order": Case("POST", "/orders/{order_id}/ship", 409),
}


@pytest.fixture
async def order_id(client: httpx.AsyncClient, auth: Auth) -> str:
    order_id: str = (await create_order(client, auth()))["aggregateId"]
    return order_id


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_bad_input_gets_a_problem_and_writes_nothing(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, order_id: str, case: Case
) -> None:
    before = await row_counts(db)
    response = await client.request(
        case.method,
        case.path.format(order_id=order_id),
        json=case.json,
        content=case.content,
        headers={**auth(), **case.headers},
    )
    problem = assert_problem(response, case.status)
    if case.field is not None:
        assert case.field in [error["field"] for error in problem["errors"]], problem
    assert await row_counts(db) == before
    assert (await order_row(db, order_id) or {})["version"] == 1


async def test_an_oversized_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    huge = new_order(items=[line(name="x" * 190) for _ in range(100)])
    response = await client.post("/orders", json=huge, headers=auth())
    problem = assert_problem(response, 413)
    assert problem["maxBytes"] == 16 * 1024
    assert (await row_counts(db))["orders"] == 0


async def test_an_oversized_chunked_body_is_refused(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"customerId": "customer-1", "currency": "EUR", "items": ['
        for _ in range(200):
            yield (b'{"sku": "S", "name": "' + b"x" * 150 + b'", "quantity": 1, "unitPrice": "1.00"},')
        yield b"]}"

    response = await client.post("/orders", content=chunks(), headers={**auth(), "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413)
    assert (await row_counts(db))["orders"] == 0


async def test_a_chunked_body_within_the_limit_is_accepted(client: httpx.AsyncClient, auth: Auth) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"customerId": "customer-1", "currency": "EUR", '
        yield b'"items": [{"sku": "S", "name": "n", "quantity": 1, "unitPrice": "1.00"}]}'

    response = await client.post("/orders", content=chunks(), headers={**auth(), "Content-Type": "application/json"})
    assert response.status_code == 202, response.text
