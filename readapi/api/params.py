"""Query parameters shared by the routes, with the bounds of `readapi.queries` (so OpenAPI shows them)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from pydantic import WithJsonSchema
from pydantic_core import PydanticCustomError

from readapi.errors import InvalidQuery, UnsupportedConsistency
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
_LEVELS = {
    Consistency.EVENTUAL: "`eventual` (the projection)",
    Consistency.STRONG: "`strong` (the write model's summary)",
}


def consistency_levels(view: str, *supported: Consistency) -> Any:
    """The `consistency` query parameter of a view answering at the `supported` levels (the first is the default),
    as a dependency giving the level: OpenAPI offers exactly those; another known level is a 400 naming them."""
    offered = [level.value for level in supported]
    description = " or ".join(_LEVELS[level] for level in supported) + "."
    schema = {"type": "string", "enum": offered, "default": offered[0]}

    async def consistency(consistency: Consistency = supported[0]) -> Consistency:
        if consistency not in supported:
            raise UnsupportedConsistency(view, consistency.value, offered)
        return consistency

    # Set after the fact: the annotation depends on `supported`, which a string annotation could not name.
    consistency.__annotations__["consistency"] = Annotated[
        Consistency, WithJsonSchema(schema), Query(description=description)
    ]
    return Depends(consistency)


DEFAULT_PAGE_LIMIT = DEFAULT_LIMIT


async def known_query_parameters(request: Request) -> None:
    """Reject query parameters the route does not declare: a typo (`stauts=`) must not silently widen a query; and
    repeated ones: every parameter here takes one value, and silently keeping the last would hide a client bug."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = _query_names(dependant)
    unknown = sorted(name for name in request.query_params if name not in allowed)
    if unknown:
        raise InvalidQuery([FieldError(name[:50], "unknown query parameter") for name in unknown[:10]])
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidQuery([FieldError(name[:50], "given more than once; takes one value") for name in repeated[:10]])


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_day(value: object) -> object:
    """A day as OpenAPI's `format: date` means it, `2024-05-31`: pydantic alone would also take `0` or `20240531`
    (a timestamp, a compact ISO date), which the document calls invalid."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise PydanticCustomError("date_format", "a day must be written YYYY-MM-DD")
    return value


def _query_names(dependant: Dependant) -> set[str]:
    """The query parameters of a route, its dependencies' included (`consistency` is one)."""
    names = {param.alias for param in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= _query_names(dependency)
    return names


async def cache_allowed(request: Request) -> bool:
    """`Cache-Control: no-cache` asks for an answer from the store (the fresh answer still refills the cache).

    `async` although it awaits nothing: FastAPI runs a plain `def` dependency in a worker thread, a thread hand-off
    on every request of the hottest path."""
    return "no-cache" not in request.headers.get("cache-control", "")


UseCache = Annotated[bool, Depends(cache_allowed)]
