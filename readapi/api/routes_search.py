"""`GET /orders/search` (registered before `/orders/{orderId}`, which would otherwise take "search" as an id)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import StringConstraints, WithJsonSchema
from starlette.responses import Response

from readapi import reads
from readapi.answers import MetaInfo, PageInfo
from readapi.api.auth import CurrentPrincipal, order_scope
from readapi.api.envelope import answer
from readapi.api.models import SearchAnswer
from readapi.api.openapi import problem_responses
from readapi.api.params import (
    DEFAULT_PAGE_LIMIT,
    Limit,
    PageNumber,
    UseCache,
    consistency_levels,
    known_query_parameters,
)
from readapi.api.services import Services, get_services
from readapi.queries import (
    FILTERS_PATTERN,
    MAX_FILTERS_LENGTH,
    MAX_QUERY_LENGTH,
    MAX_WINDOW,
    Consistency,
    SearchFilters,
    SearchQuery,
    page_request,
    search_text,
)
from readapi.visibility import ALL_ORDERS

Filters = Annotated[
    str,
    StringConstraints(max_length=MAX_FILTERS_LENGTH),
    WithJsonSchema({"type": "string", "maxLength": MAX_FILTERS_LENGTH, "pattern": FILTERS_PATTERN}),
]
"""Checked by `SearchFilters.parse` (a message per mistake); OpenAPI shows the same grammar as a pattern."""
router = APIRouter(prefix="/orders", tags=["search"], dependencies=[Depends(known_query_parameters)])


@router.get("/search", summary="Search orders", response_model=SearchAnswer,
            responses=problem_responses(400, 401, 403, 422, 503))  # fmt: skip
async def search_orders(
    principal: CurrentPrincipal,
    services: Annotated[Services, Depends(get_services)],
    consistency: Annotated[Consistency, consistency_levels("search", Consistency.EVENTUAL)],
    q: Annotated[
        str | None,
        Query(max_length=MAX_QUERY_LENGTH, description="Words in item names or SKUs, a city, a cancel reason, an id."),
    ] = None,
    filters: Annotated[
        Filters | None,
        Query(
            description="Comma-separated field:value, each field at most once: status, currency, customerId; e.g. "
            "`status:pending,currency:EUR`."
        ),
    ] = None,
    page: PageNumber = 1,
    limit: Limit = DEFAULT_PAGE_LIMIT,
    use_cache: UseCache = True,
) -> Response:
    """Best matches first, with highlights; newest first without `q`. Eventual only: a document becomes searchable
    at the index's next refresh (1 s), so no version can be promised."""
    scope = order_scope(principal)
    wanted = SearchFilters.parse(filters)
    if scope is not ALL_ORDERS:
        if wanted.customer_id not in (None, scope):
            return answer(b"[]", MetaInfo(None, None), PageInfo(page, limit, 0))
        wanted = SearchFilters(wanted.status, wanted.currency, scope)
    query = SearchQuery(search_text(q), wanted, page_request(page, limit, window=MAX_WINDOW))
    result = await reads.order_search(services, query, use_cache=use_cache)
    return answer(result.data, result.meta, result.page)
