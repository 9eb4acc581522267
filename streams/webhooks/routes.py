"""`/webhooks`: operators register the endpoints events are delivered to, and read each one's delivery log.

The secret is shown once, in the answer to the registration (as Standard Webhooks providers do); listings never
show it. A URL must be https to a public address (`destinations`): anything else is a 422 naming `url`. The delivery
log shows errors as categories only (`failures.public`). DELETE stops deliveries at once (the agent re-reads the
registry within seconds); the log stays.
Routes render their JSON themselves (times in UTC with milliseconds, as every response of the APIs shows them);
the response models document the shapes.

The routes belong to no app: the composition root mounts `router` on the writer's API, puts `WebhookServices` on
the app (`provide_services`, in its lifespan) and answers the routes' errors with `problems.webhook_problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema
from pydantic.alias_generators import to_camel
from starlette.responses import JSONResponse, Response

from schemas.events import ORDER_EVENT_TYPES
from servicekit.auth import BearerCredentials, principal_from
from servicekit.errors import FieldError, InvalidRequest, PermissionDenied
from servicekit.principals import Principal, Role
from servicekit.tokens import TokenVerifier
from streams.webhooks import failures
from streams.webhooks.destinations import DestinationPolicy
from streams.webhooks.errors import UnsafeDestination, WebhookNotFound, WebhookStoreUnavailable
from streams.webhooks.problems import problem_responses
from streams.webhooks.registry import DeliveryLogEntry, WebhookEndpoint, WebhookRegistry
from streams.webhooks.signature import SECRET_PATTERN, InvalidSecret, new_secret, secret_key


@dataclass(frozen=True, slots=True)
class WebhookServices:
    """What the routes need from the app serving them, built once in its lifespan."""

    tokens: TokenVerifier
    """Verifies the bearer tokens: those of the API the routes are mounted on."""
    registry: WebhookRegistry | None
    """None when the app runs without a database (tests on an in-memory store): `/webhooks` answers 503."""
    destinations: DestinationPolicy
    """Which URLs may be registered: https to public addresses (the agent checks again at every connection)."""


def provide_services(app: FastAPI, services: WebhookServices) -> None:
    """Make `services` the routes' services in `app` (call it in the app's lifespan, before serving)."""
    app.state.webhooks = services


async def get_services(request: Request) -> WebhookServices:
    """FastAPI dependency (async: a plain function would be run in the thread pool)."""
    return cast(WebhookServices, request.app.state.webhooks)


Services = Annotated[WebhookServices, Depends(get_services)]

EVENT_TYPES = tuple(event.__name__ for event in ORDER_EVENT_TYPES)


def _known_event_type(name: str) -> str:
    if name not in EVENT_TYPES:
        raise ValueError(f"unknown event type; one of {', '.join(EVENT_TYPES)}")
    return name


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")  # Postgres cannot store them
    return value


def _secret(value: str) -> str:
    try:
        secret_key(value)
    except InvalidSecret as error:
        raise ValueError(str(error)) from error
    if re.fullmatch(SECRET_PATTERN, value) is None:  # what the document promises: canonical base64, no stray padding
        raise ValueError("a webhook secret is canonical base64 after its prefix (no extra padding)")
    return value


EventTypeName = Annotated[
    str, AfterValidator(_known_event_type), WithJsonSchema({"type": "string", "enum": list(EVENT_TYPES)})
]


class ApiModel(BaseModel):
    """camelCase on the wire, unknown fields rejected: the conventions of the API the routes are served by."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class RegisterWebhookBody(ApiModel):
    url: AnyHttpUrl
    event_types: Annotated[
        list[EventTypeName],
        Field(default_factory=list, max_length=len(EVENT_TYPES), description="Empty or omitted: every event type."),
    ]
    description: Annotated[str, StringConstraints(max_length=500), AfterValidator(_storable)] | None = None
    secret: (
        Annotated[
            str,
            AfterValidator(_secret),  # enforces, naming what is wrong; the pattern only documents the same rule
            WithJsonSchema(
                {
                    "type": "string",
                    "pattern": SECRET_PATTERN,
                    "description": "whsec_<base64 of 24-64 bytes>; omitted: one is generated.",
                }
            ),
        ]
        | None
    ) = None


class WebhookView(ApiModel):
    id: UUID
    url: str
    event_types: list[str]
    description: str | None
    created_by: str
    created_at: datetime


class RegisteredWebhook(WebhookView):
    secret: str = Field(description="The signing secret; shown only in this response.")


class WebhookList(ApiModel):
    data: list[WebhookView]


class DeliveryView(ApiModel):
    event_id: UUID
    event_type: str
    order_id: str
    version: int
    attempt: int
    outcome: Literal["delivered", "failed", "parked", "held", "deferred"]
    http_status: int | None
    error: str | None = Field(
        description="What went wrong, as a category: `timeout`, `connection refused`, `TLS error`, `host not found`,"
        " `destination not allowed`, `connection error`, `HTTP status N`, or why the delivery was parked or deferred."
    )
    duration_ms: float | None
    at: datetime


class DeliveryLog(ApiModel):
    data: list[DeliveryView]
    parked: int = Field(description="Deliveries of this endpoint in the DLQ now (`cqrs webhooks dlq list`).")


async def authenticated(request: Request, credentials: BearerCredentials, services: Services) -> Principal:
    """The verified caller, or `Unauthenticated`."""
    return principal_from(request, credentials, services.tokens)


async def operator(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
    """Only operators manage where events go (a webhook is a copy of every order leaving the system)."""
    if Role.OPERATOR not in principal.roles:
        raise PermissionDenied("only operators manage webhooks")
    return principal


async def registry(services: Services) -> WebhookRegistry:
    if services.registry is None:
        raise WebhookStoreUnavailable("this app has no webhook registry")
    return services.registry


Operator = Annotated[Principal, Depends(operator)]
WebhookId = Annotated[str, Path(alias="webhookId")]
Registry = Annotated[WebhookRegistry, Depends(registry)]
router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "", status_code=201, response_model=RegisteredWebhook, summary="Register an endpoint (operator)",
    responses=problem_responses(400, 401, 403, 422, 503),
)  # fmt: skip
async def register(body: RegisterWebhookBody, principal: Operator, webhooks: Registry, services: Services) -> Response:
    try:
        await services.destinations.check(str(body.url))
    except UnsafeDestination as refused:
        raise InvalidRequest([FieldError("url", str(refused))]) from None
    endpoint = WebhookEndpoint(
        id=uuid4(), url=str(body.url), event_types=tuple(dict.fromkeys(body.event_types)),
        description=body.description, secret=body.secret or new_secret(), created_by=principal.subject,
        created_at=datetime.now(UTC),
    )  # fmt: skip
    await webhooks.register(endpoint)
    document = _view(endpoint) | {"secret": endpoint.secret}
    return JSONResponse(document, status_code=201, headers={"Location": f"/webhooks/{endpoint.id}"})


@router.get(
    "", response_model=WebhookList, summary="Registered endpoints (operator)",
    responses=problem_responses(401, 403, 503),
)  # fmt: skip
async def list_endpoints(_: Operator, webhooks: Registry) -> Response:
    return JSONResponse({"data": [_view(endpoint) for endpoint in await webhooks.live()]})


@router.get(
    "/{webhookId}", response_model=WebhookView, summary="One endpoint (operator)",
    responses=problem_responses(401, 403, 404, 503),
)  # fmt: skip
async def get_endpoint(webhook_id: WebhookId, _: Operator, webhooks: Registry) -> Response:
    return JSONResponse(_view(await _live(webhooks, webhook_id)))


@router.delete(
    "/{webhookId}", status_code=204, summary="Stop deliveries to an endpoint (operator)",
    responses=problem_responses(401, 403, 404, 503),
)  # fmt: skip
async def delete_endpoint(webhook_id: WebhookId, _: Operator, webhooks: Registry) -> Response:
    if not await webhooks.delete(_uuid(webhook_id)):
        raise WebhookNotFound(webhook_id)
    return Response(status_code=204)


@router.get(
    "/{webhookId}/deliveries", response_model=DeliveryLog,
    summary="The endpoint's delivery log, newest first (operator)",
    responses=problem_responses(401, 403, 404, 503),
)  # fmt: skip
async def deliveries(
    webhook_id: WebhookId,
    _: Operator,
    webhooks: Registry,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    outcome: Annotated[Literal["delivered", "failed", "parked", "held", "deferred"] | None, Query()] = None,
) -> Response:
    endpoint = await _live(webhooks, webhook_id)
    entries, parked = await webhooks.deliveries(endpoint.id, limit=limit, outcome=outcome)
    return JSONResponse({"data": [_entry(entry) for entry in entries], "parked": parked})


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise WebhookNotFound(raw) from None  # an id that is no UUID names no endpoint


async def _live(webhooks: WebhookRegistry, raw_id: str) -> WebhookEndpoint:
    endpoint = await webhooks.find(_uuid(raw_id))
    if endpoint is None:
        raise WebhookNotFound(raw_id)
    return endpoint


def _iso_timestamp(moment: datetime) -> str:
    """`2024-05-01T12:00:00.123Z`: UTC, milliseconds (the events' precision), as every response shows time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id), "url": endpoint.url, "eventTypes": list(endpoint.event_types),
        "description": endpoint.description, "createdBy": endpoint.created_by,
        "createdAt": _iso_timestamp(endpoint.created_at),
    }  # fmt: skip


def _entry(entry: DeliveryLogEntry) -> dict[str, Any]:
    return {
        "eventId": str(entry.event_id), "eventType": entry.event_type, "orderId": entry.order_id,
        "version": entry.version, "attempt": entry.attempt, "outcome": entry.outcome,
        "httpStatus": entry.http_status, "error": failures.public(entry.error), "durationMs": entry.duration_ms,
        "at": _iso_timestamp(entry.at),
    }  # fmt: skip
