"""`Analytics` on the ClickHouse projection, as the read-only `analyst` user over HTTP (clickhouse-connect).

Daily revenue reads the `daily_revenue` view (summed per creation day, status and currency by a materialized view).
Top SKUs reads the `top_skus` view when no day range is given; with one it sums the facts' per-event SKU deltas of
orders created in the range, since the view keeps no day. Both views net out removals and cancellations.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.asyncclient import AsyncClient
from clickhouse_connect.driver.exceptions import DatabaseError

from readapi.ports import Document
from readapi.queries import DateRange, Page
from readapi.stores.guard import guarded
from streams.contract import DAILY, FACTS, LATEST, SKUS
from streams.settings import StreamsSettings

STORE = "clickhouse"
_MISSING = {60, 81}  # UNKNOWN_TABLE, UNKNOWN_DATABASE: nothing was projected yet → no rows, not an error
_CANCELLED = "cancelled"


class ClickHouseAnalytics:
    def __init__(self, settings: StreamsSettings, *, user: str, password: str, timeout_s: float) -> None:
        self._settings = settings
        self._db = settings.clickhouse_database
        self._user, self._password = user, password
        self._timeout_s = timeout_s
        self._client: AsyncClient | None = None
        self._connecting = asyncio.Lock()

    async def _connected(self) -> AsyncClient:
        # The async client handshakes when created, which needs the running loop: connect on first use.
        async with self._connecting:
            if self._client is None:
                self._client = await clickhouse_connect.get_async_client(
                    host=self._settings.clickhouse_server,
                    port=self._settings.ports.clickhouse,
                    username=self._user,
                    password=self._password,
                    connect_timeout=self._timeout_s,
                    send_receive_timeout=self._timeout_s,
                    # Beside the service, compression costs more CPU than it saves (infra/clickhouse/README.md).
                    compress=False,
                )
            return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def _rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        async with guarded(STORE, self._timeout_s):
            client = await self._connected()
            try:
                result = await client.query(sql, parameters=parameters)
            except DatabaseError as error:
                if getattr(error, "code", None) in _MISSING:
                    return []
                raise
        return [tuple(row) for row in result.result_rows]

    async def daily_revenue(self, days: DateRange, currency: str | None) -> list[Document]:
        where, parameters = _conditions(days, currency, day="day")
        rows = await self._rows(
            f"SELECT day, currency, status, orders, revenue FROM {self._db}.{DAILY} {where} "
            "ORDER BY day, currency, status",
            parameters,
        )
        per_day: dict[tuple[Any, str], Document] = {}
        for day, row_currency, status, orders, revenue in rows:
            entry = per_day.setdefault(
                (day, row_currency),
                {"day": day.isoformat(), "currency": row_currency, "orders": 0, "revenue": Decimal(0), "byStatus": {}},
            )
            entry["byStatus"][status] = {"orders": int(orders), "revenue": _money(revenue)}
            if status != _CANCELLED:  # a cancelled order earned nothing; it is still shown in byStatus
                entry["orders"] += int(orders)
                entry["revenue"] += Decimal(revenue)
        for entry in per_day.values():
            entry["revenue"] = _money(entry["revenue"])
        return list(per_day.values())

    async def top_skus(self, days: DateRange, currency: str | None, limit: int) -> Page[Document]:
        if days.first is None and days.last is None:
            where, parameters = _conditions(days, currency, day="")
            per_currency = f"SELECT sku, currency, quantity, revenue FROM {self._db}.{SKUS} {where}"
        else:
            where, parameters = _conditions(days, currency, day="toDate(created_at)")
            per_currency = (
                "SELECT sku, currency, sum(delta_quantity) AS quantity, sum(delta_amount) AS revenue "
                f"FROM {self._db}.{FACTS} ARRAY JOIN delta_skus AS sku, delta_quantities AS delta_quantity, "
                f"delta_revenue AS delta_amount {where} GROUP BY sku, currency"
            )
        return await self._ranked_skus(per_currency, parameters, limit)

    async def customer_totals(self, customer_id: str) -> list[Document]:
        rows = await self._rows(
            f"SELECT currency, countIf(status != '{_CANCELLED}') AS orders, "
            f"sumIf(total, status != '{_CANCELLED}') AS revenue, countIf(status = '{_CANCELLED}') AS cancelled "
            f"FROM {self._db}.{LATEST} WHERE customer_id = {{customer:String}} GROUP BY currency ORDER BY currency",
            {"customer": customer_id},
        )
        return [
            {"currency": currency, "orders": int(orders), "revenue": _money(revenue), "cancelled": int(cancelled)}
            for currency, orders, revenue, cancelled in rows
        ]

    async def customer_top_skus(self, customer_id: str, limit: int) -> list[Document]:
        per_currency = (
            "SELECT sku, currency, sum(delta_quantity) AS quantity, sum(delta_amount) AS revenue "
            f"FROM {self._db}.{FACTS} ARRAY JOIN delta_skus AS sku, delta_quantities AS delta_quantity, "
            "delta_revenue AS delta_amount WHERE customer_id = {customer:String} GROUP BY sku, currency"
        )
        return (await self._ranked_skus(per_currency, {"customer": customer_id}, limit)).items

    async def _ranked_skus(self, per_currency: str, parameters: dict[str, Any], limit: int) -> Page[Document]:
        """SKUs of `per_currency` (sku, currency, quantity, revenue rows) by net units, then sku; sold ones only."""
        rows = await self._rows(
            "SELECT sku, units, by_currency, count() OVER () AS skus FROM ("
            "SELECT sku, sum(quantity) AS units, groupArray((currency, toDecimal128(revenue, 2))) AS by_currency "
            f"FROM ({per_currency}) GROUP BY sku HAVING units > 0"
            ") ORDER BY units DESC, sku LIMIT {limit:UInt32}",
            parameters | {"limit": limit},
        )
        skus = [
            {
                "sku": sku,
                "quantity": int(units),
                "revenue": {cur: _money(amount) for cur, amount in sorted(by_currency) if amount != 0},
            }
            for sku, units, by_currency, _ in rows
        ]
        return Page(skus, int(rows[0][3]) if rows else 0)

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s):
            await (await self._connected()).query("SELECT 1")


def _conditions(days: DateRange, currency: str | None, *, day: str) -> tuple[str, dict[str, Any]]:
    """A WHERE clause with bound parameters (never formatted values)."""
    conditions: list[str] = []
    parameters: dict[str, Any] = {}
    if days.first is not None:
        conditions.append(f"{day} >= {{first:Date}}")
        parameters["first"] = days.first
    if days.last is not None:
        conditions.append(f"{day} <= {{last:Date}}")
        parameters["last"] = days.last
    if currency is not None:
        conditions.append("currency = {currency:String}")
        parameters["currency"] = currency
    return ("WHERE " + " AND ".join(conditions) if conditions else ""), parameters


def _money(value: Decimal | int) -> str:
    return format(Decimal(value).quantize(Decimal("0.01")), "f")
