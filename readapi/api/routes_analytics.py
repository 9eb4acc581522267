"""`GET /analytics/revenue/daily`, `GET /analytics/top-skus` (the analyst role; eventual consistency)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BeforeValidator
from starlette.responses import Response

from readapi import reads
from readapi.answers import MetaInfo, PageInfo, dumps
from readapi.api.auth import require_analyst
from readapi.api.envelope import answer
from readapi.api.models import DailyRevenueAnswer, TopSkusAnswer
from readapi.api.openapi import problem_responses
from readapi.api.params import iso_day, known_query_parameters
from readapi.api.services import Services, get_services
from readapi.queries import DateRange

# Unknown parameters are rejected first, then the caller is authenticated and must be an analyst.
router = APIRouter(
    prefix="/analytics", tags=["analytics"], dependencies=[Depends(known_query_parameters), Depends(require_analyst)]
)
ServicesDep = Annotated[Services, Depends(get_services)]
Day = Annotated[date | None, BeforeValidator(iso_day)]
From = Annotated[Day, Query(alias="from", description="First UTC day (inclusive) the orders were created.")]
To = Annotated[Day, Query(alias="to", description="Last UTC day (inclusive).")]
Currency = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="Only this currency (ISO 4217).")]
_PROBLEMS = problem_responses(401, 403, 422, 503)


@router.get("/revenue/daily", summary="Revenue per day and currency", response_model=DailyRevenueAnswer,
            responses=_PROBLEMS)  # fmt: skip
async def daily_revenue(
    services: ServicesDep,
    first: From = None,
    last: To = None,
    currency: Currency = None,
) -> Response:
    """Orders and revenue by the day they were created, cancelled orders excluded (shown in `byStatus`)."""
    days = DateRange(first, last)
    position = await reads.analytics_position(services)
    rows = await services.analytics.daily_revenue(days, currency)
    return answer(dumps(rows), MetaInfo.of_view(position), PageInfo(1, len(rows), len(rows)))


@router.get("/top-skus", summary="Best-selling SKUs", response_model=TopSkusAnswer, responses=_PROBLEMS)
async def top_skus(
    services: ServicesDep,
    first: From = None,
    last: To = None,
    currency: Currency = None,
    limit: Annotated[int, Query(ge=1, le=100, description="How many SKUs.")] = 10,
) -> Response:
    """SKUs by net units in orders created in the range (removed lines and cancelled orders subtracted)."""
    days = DateRange(first, last)
    position = await reads.analytics_position(services)
    page = await services.analytics.top_skus(days, currency, limit)
    return answer(dumps(page.items), MetaInfo.of_view(position), PageInfo(1, limit, page.total))
