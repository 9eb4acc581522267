"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from writer.api.openapi import problem_responses
from writer.api.services import Services, get_services

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "ready"]


@router.get("/health", summary="Liveness: the process answers")
async def live() -> Health:
    return Health(status="ok")


@router.get("/health/ready", summary="Readiness: the database answers", responses=problem_responses(503))
async def ready(services: Annotated[Services, Depends(get_services)]) -> Health:
    await services.store.check_ready()  # StoreUnavailable → 503 problem
    return Health(status="ready")
