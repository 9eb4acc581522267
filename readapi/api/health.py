"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from readapi.answers import dumps
from readapi.api.models import Health
from readapi.api.openapi import problem_responses
from readapi.api.problems import problem_for
from readapi.api.services import Services, get_services
from readapi.errors import StoreUnavailable
from servicekit.problems import problem_response

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
async def live() -> Health:
    return Health(status="ok")


@router.get("/health/ready", summary="Readiness: every read store answers", response_model=Health,
            responses=problem_responses(503))  # fmt: skip
async def ready(services: Annotated[Services, Depends(get_services)]) -> Response:
    names = list(services.stores)
    outcomes = await asyncio.gather(*(services.stores[name].check() for name in names), return_exceptions=True)
    failed = {name: str(outcome) for name, outcome in zip(names, outcomes, strict=True) if outcome is not None}
    if failed:
        first = next(iter(failed))
        problem = problem_for(StoreUnavailable(first, failed[first]))
        response = problem_response(problem, instance="/health/ready")
        return response
    return Response(dumps({"status": "ready", "stores": dict.fromkeys(names, "ok")}), media_type="application/json")
