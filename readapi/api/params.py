"""Query parameters shared by the routes, with the bounds of `readapi.queries` (so OpenAPI shows them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from readapi.errors import InvalidQuery
from readapi.queries import DEFAULT_LIMIT, MAX_ID_LENGTH, MAX_LIMIT, MAX_PAGE, Consistency
from servicekit.errors import FieldError

MAX_WAIT_S = 10.0
MAX_VERSION = 2**62

OrderId = Annotated[str, Path(alias="orderId", min_length=1, max_length=MAX_ID_LENGTH, description="The order's id.")]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Results per page (at most {MAX_LIMIT}).")]
MinVersion = Annotated[
    int | None,
    Query(
        alias="minVersion",
        ge=1,
        le=MAX_VERSION,
        description="Read-your-writes: wait until the view shows at least this version of the order (the writer's "
        "`Location` carries it); after `timeout` the answer comes as it is, with `meta.stale=true`.",
    ),
]
Timeout = Annotated[
    float | None,
    Query(alias="timeout", gt=0, le=MAX_WAIT_S, description="Seconds to wait for `minVersion` (default 2)."),
]
ConsistencyLevel = Annotated[
    Consistency,
    Query(description="`eventual` (the projection) or `strong` (the write model's summary; order detail only)."),
]
DEFAULT_PAGE_LIMIT = DEFAULT_LIMIT


async def known_query_parameters(request: Request) -> None:
    """Reject query parameters the route does not declare: a typo (`stauts=`) must not silently widen a query; and
    repeated ones: every parameter here takes one value, and silently keeping the last would hide a client bug."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = {param.alias for param in dependant.query_params}
    unknown = sorted(name for name in request.query_params if name not in allowed)
    if unknown:
        raise InvalidQuery([FieldError(name[:50], "unknown query parameter") for name in unknown[:10]])
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidQuery([FieldError(name[:50], "given more than once; takes one value") for name in repeated[:10]])


async def cache_allowed(request: Request) -> bool:
    """`Cache-Control: no-cache` asks for an answer from the store (the fresh answer still refills the cache).

    `async` although it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread, a thread hand-off
    on every request of the hottest path."""
    return "no-cache" not in request.headers.get("cache-control", "")


UseCache = Annotated[bool, Depends(cache_allowed)]
