"""`GET /customers/{customerId}/overview`: one customer's orders and figures from several read models at once."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from readapi.answers import MetaInfo
from readapi.api.auth import CurrentPrincipal, order_scope
from readapi.api.envelope import composed
from readapi.api.models import CustomerOverviewAnswer
from readapi.api.openapi import WHEN
from readapi.api.params import known_query_parameters
from readapi.api.services import Services, get_services
from readapi.errors import PartsMissing
from readapi.overview import Overview, PartAnswer, customer_overview
from readapi.queries import MAX_ID_LENGTH
from readapi.visibility import ALL_ORDERS
from servicekit import openapi as kit
from servicekit.errors import PermissionDenied

router = APIRouter(prefix="/customers", tags=["customers"], dependencies=[Depends(known_query_parameters)])
ServicesDep = Annotated[Services, Depends(get_services)]
CustomerId = Annotated[
    str, Path(alias="customerId", min_length=1, max_length=MAX_ID_LENGTH, description="The customer's id.")
]
_PROBLEMS = kit.problem_responses(
    WHEN
    | {
        403: "A customer asked for another customer's overview, or the role may not read orders.",
        503: "`require=all` and some part's store cannot answer (`missingParts` names them); retry.",
    },
    401, 403, 422, 503,
)  # fmt: skip


class Require(StrEnum):
    ANY = "any"
    ALL = "all"


@router.get("/{customerId}/overview", summary="A customer's overview (composed)",
            response_model=CustomerOverviewAnswer, responses=_PROBLEMS)  # fmt: skip
async def overview(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: ServicesDep,
    recent: Annotated[int, Query(ge=1, le=20, description="How many of the newest orders.")] = 5,
    top: Annotated[int, Query(ge=1, le=20, description="How many SKUs.")] = 5,
    require: Annotated[
        Require,
        Query(
            description="`any`: answer with the parts that could be read (a missing one is null, its "
            "`meta.parts[…].error` says why); `all`: a missing part makes the answer a 503."
        ),
    ] = Require.ANY,
) -> Response:
    """Recent orders and open orders (the list read model), lifetime totals and top SKUs (analytics), read
    concurrently, each with its own `meta` (source, version, lastUpdated, stale). A customer sees only their own."""
    scope = order_scope(principal)
    if scope is not ALL_ORDERS and scope != customer_id:
        raise PermissionDenied("a customer may read only their own overview")
    settings = services.settings
    result = await customer_overview(
        services, customer_id, recent=recent, top=top, timeout_s=settings.overview_part_timeout_s
    )
    if require is Require.ALL and result.missing:
        failed = [part for part in result.parts if part.failure is not None]
        raise PartsMissing([part.name for part in failed], [part.source for part in failed])
    return composed(_data(result), _meta(result))


def _data(result: Overview) -> dict[str, object]:
    return {"customerId": result.customer_id} | {part.name: part.value for part in result.parts}


def _meta(result: Overview) -> dict[str, object]:
    answered = [part.meta for part in result.parts if part.meta is not None]
    times = [meta.last_updated for meta in answered if meta.last_updated is not None]
    return {
        # The whole is as fresh as its oldest part.
        "lastUpdated": min(times) if times else None,
        "version": None,
        "cached": False,
        "stale": any(meta.stale for meta in answered),
        "partial": bool(result.missing),
        "parts": {part.name: _part_meta(part) for part in result.parts},
    }


def _part_meta(part: PartAnswer) -> dict[str, Any]:
    meta = part.meta or MetaInfo(None, None)
    shown: dict[str, Any] = {
        "source": part.source,
        "version": meta.version,
        "lastUpdated": meta.last_updated,
        "stale": meta.stale,
    }
    if part.failure is not None:
        shown["error"] = {"reason": part.failure.reason, "detail": part.failure.detail}
    return shown
