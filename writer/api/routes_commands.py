"""Task-based routes: `POST /commands/<command-name>`, and `GET /commands/{commandId}` for the outcome."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from starlette.responses import JSONResponse, Response

from writer.api import translate
from writer.api.auth import CurrentPrincipal
from writer.api.models import (
    AddItemBody,
    CancelOrderBody,
    CommandOutcome,
    CreateOrderBody,
    OrderTransitionBody,
    RemoveItemBody,
)
from writer.api.openapi import ACCEPTED, problem_responses
from writer.api.services import Services, get_services
from writer.api.submit import CommandCallDep
from writer.errors import CommandNotFound

router = APIRouter(prefix="/commands", tags=["commands"])


@router.post("/create-order", summary="Place a new order", **ACCEPTED)
async def create_order(body: CreateOrderBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.create_order(body), body)


@router.post("/add-item-to-order", summary="Add a line to a pending order", **ACCEPTED)
async def add_item_to_order(body: AddItemBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.add_item_to_order(body, call.expected_version(body.expected_version)), body)


@router.post("/remove-item-from-order", summary="Remove a line from a pending order", **ACCEPTED)
async def remove_item_from_order(body: RemoveItemBody, call: CommandCallDep) -> Response:
    command = translate.remove_item_from_order(body, call.expected_version(body.expected_version))
    return await call.submit(command, body)


@router.post("/cancel-order", summary="Cancel a pending or confirmed order", **ACCEPTED)
async def cancel_order(body: CancelOrderBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.cancel_order(body, call.expected_version(body.expected_version)), body)


@router.post("/confirm-order", summary="Confirm a pending order", **ACCEPTED)
async def confirm_order(body: OrderTransitionBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.confirm_order(body, call.expected_version(body.expected_version)), body)


@router.post("/ship-order", summary="Ship a confirmed order (staff)", **ACCEPTED)
async def ship_order(body: OrderTransitionBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.ship_order(body, call.expected_version(body.expected_version)), body)


@router.get(
    "/{commandId}",
    summary="The stored outcome of an accepted command",
    response_model=CommandOutcome,
    responses=problem_responses(401, 404, 503),
)
async def command_outcome(
    command_id: Annotated[str, Path(alias="commandId")],
    principal: CurrentPrincipal,
    services: Annotated[Services, Depends(get_services)],
) -> JSONResponse:
    try:
        parsed = UUID(command_id)
    except ValueError:
        raise CommandNotFound(command_id) from None
    # Returned as stored: re-validating through the response model would reformat the timestamps.
    return JSONResponse(dict(await services.handler.outcome(parsed, principal)))
