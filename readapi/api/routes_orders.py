"""`GET /orders`, `GET /orders/{orderId}`, `GET /orders/{orderId}/items`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import WithJsonSchema
from starlette.responses import Response

from readapi import reads
from readapi.answers import MetaInfo, PageInfo
from readapi.api.auth import CurrentPrincipal, order_scope
from readapi.api.envelope import answer
from readapi.api.models import ItemsAnswer, OrderAnswer, OrderListAnswer
from readapi.api.openapi import problem_responses
from readapi.api.params import (
    DEFAULT_PAGE_LIMIT,
    Limit,
    MinVersion,
    OrderId,
    PageNumber,
    Timeout,
    UseCache,
    consistency_levels,
    known_query_parameters,
)
from readapi.api.services import Services, get_services
from readapi.errors import InvalidQuery
from readapi.queries import (
    DEFAULT_SORT,
    MAX_CURSOR_LENGTH,
    MAX_ID_LENGTH,
    SORT_PATTERN,
    Consistency,
    Cursor,
    ListQuery,
    OrderStatus,
    Sort,
    page_request,
)
from readapi.reads import ReadYourWrite
from readapi.visibility import ALL_ORDERS

router = APIRouter(prefix="/orders", tags=["orders"], dependencies=[Depends(known_query_parameters)])
ServicesDep = Annotated[Services, Depends(get_services)]
_READ_PROBLEMS = problem_responses(400, 401, 403, 404, 422, 503)


def _wait(
    services: Services, order_id: str, min_version: int | None, timeout: float | None, scope: str | None
) -> ReadYourWrite | None:
    if min_version is None:
        return None
    settings = services.settings
    timeout_s = min(timeout or settings.wait_default_s, settings.wait_max_s)
    return ReadYourWrite(order_id, min_version, timeout_s, scope)


@router.get("", summary="List orders", response_model=OrderListAnswer, responses=_READ_PROBLEMS)
async def list_orders(
    principal: CurrentPrincipal,
    services: ServicesDep,
    consistency: Annotated[Consistency, consistency_levels("the order list", Consistency.EVENTUAL)],
    status: Annotated[OrderStatus | None, Query(description="Only orders in this status.")] = None,
    customer_id: Annotated[str | None, Query(alias="customerId", min_length=1, max_length=MAX_ID_LENGTH)] = None,
    page: PageNumber = 1,
    limit: Limit = DEFAULT_PAGE_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            description="The previous answer's `pagination.cursor`: the page after it (keyset; with the same `sort` "
            "and filters; instead of `page`). Pages never skip or repeat an order while orders are being created.",
        ),
    ] = None,
    sort: Annotated[
        str,
        WithJsonSchema({"type": "string", "pattern": SORT_PATTERN, "default": str(DEFAULT_SORT)}),
        Query(
            max_length=50,
            description="field:direction; fields createdAt, updatedAt, total (in cents, whatever "
            "the currency), status, itemCount, version; ties are broken by orderId in the same direction.",
        ),
    ] = str(DEFAULT_SORT),
    min_version: MinVersion = None,
    min_version_of: Annotated[
        str | None,
        Query(
            alias="minVersionOf",
            min_length=1,
            max_length=MAX_ID_LENGTH,
            description="The order `minVersion` is about (read-your-writes on a list); not a filter.",
        ),
    ] = None,
    wait_s: Timeout = None,
    use_cache: UseCache = True,
) -> Response:
    """Newest first by default. A customer sees only their own orders whatever `customerId` says."""
    if (min_version is None) != (min_version_of is None):
        raise InvalidQuery.of("minVersionOf", "minVersion and minVersionOf go together")
    if cursor is not None and page != 1:
        raise InvalidQuery.of("cursor", "a cursor says where the page starts: give `cursor` or `page`, not both")
    scope = order_scope(principal)
    order = Sort.parse(sort)
    after = Cursor.decode(cursor, order) if cursor is not None else None
    query = ListQuery(status, customer_id or scope, order, page_request(page, limit), after)
    if scope is not ALL_ORDERS and customer_id not in (None, scope):
        # Someone else's orders: an empty list, exactly as if they had none (no error that would confirm them).
        return answer(b"[]", MetaInfo(None, None), PageInfo(page, limit, 0))
    wait = _wait(services, min_version_of, min_version, wait_s, scope) if min_version_of else None
    result = await reads.order_list(services, query, wait, use_cache=use_cache)
    return answer(result.data, result.meta, result.page)


@router.get("/{orderId}", summary="One order with its items", response_model=OrderAnswer, responses=_READ_PROBLEMS)
async def get_order(
    order_id: OrderId,
    principal: CurrentPrincipal,
    services: ServicesDep,
    consistency: Annotated[Consistency, consistency_levels("an order", Consistency.EVENTUAL, Consistency.STRONG)],
    min_version: MinVersion = None,
    wait_s: Timeout = None,
    use_cache: UseCache = True,
) -> Response:
    """The writer's `Location` (`/orders/{id}?minVersion={version}`) works as is: read-your-writes."""
    scope = order_scope(principal)
    if consistency is Consistency.STRONG:
        result = await reads.strong_order_detail(services, order_id, scope, min_version)
    else:
        wait = _wait(services, order_id, min_version, wait_s, scope)
        result = await reads.order_detail(services, order_id, scope, wait, use_cache=use_cache)
    return answer(result.data, result.meta)


@router.get("/{orderId}/items", summary="An order's lines", response_model=ItemsAnswer, responses=_READ_PROBLEMS)
async def get_order_items(
    order_id: OrderId,
    principal: CurrentPrincipal,
    services: ServicesDep,
    consistency: Annotated[Consistency, consistency_levels("an order's items", Consistency.EVENTUAL)],
    page: PageNumber = 1,
    limit: Annotated[int, Query(ge=1, le=100, description="Lines per page.")] = 100,
    min_version: MinVersion = None,
    wait_s: Timeout = None,
) -> Response:
    scope = order_scope(principal)
    wait = _wait(services, order_id, min_version, wait_s, scope)
    result = await reads.order_detail(services, order_id, scope, wait)
    result = reads.items_of(result, page, limit)
    return answer(result.data, result.meta, result.page)
