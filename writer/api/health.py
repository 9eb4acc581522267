"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from servicekit.problems import Problem, problem_response
from writer.api.openapi import problem_responses
from writer.api.services import Services, get_services
from writer.trace.relay_state import RelayProbe

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok", "ready"]
    relay: dict[str, Any] | None = None
    """The relay's connector, task and slot, where readiness watches the relay."""


@router.get("/health", summary="Liveness: the process answers", response_model_exclude_none=True)
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    summary="Readiness: the database answers (and, where watched, the relay relays)",
    response_model=Health,
    response_model_exclude_none=True,
    responses=problem_responses(503),
)
async def ready(request: Request, services: Annotated[Services, Depends(get_services)]) -> Response:
    await services.store.check_ready()  # StoreUnavailable → 503 problem
    relay: RelayProbe | None = getattr(request.app.state, "relay", None)
    if relay is None:
        return JSONResponse({"status": "ready"})
    # Commands are still accepted while the relay is down, but nothing reaches Kafka: not ready says why.
    state = await relay.state()
    if state.problem is not None:
        problem = Problem(
            status=503, slug="relay-down", title="The relay does not relay", detail=state.problem,
            extensions={"relay": state.as_json()}, headers={"Retry-After": "5"},
        )  # fmt: skip
        return problem_response(problem, instance="/health/ready")
    return JSONResponse({"status": "ready", "relay": state.as_json()})
