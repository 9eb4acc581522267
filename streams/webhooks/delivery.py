"""One event to one endpoint: sign, POST, retry with exponential backoff and jitter (tenacity), report each attempt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from streams.webhooks import failures, metrics
from streams.webhooks.destinations import DestinationPolicy, destination_policy
from streams.webhooks.endpoints import Endpoint
from streams.webhooks.errors import UnsafeDestination
from streams.webhooks.settings import WebhookSettings
from streams.webhooks.signature import signed_headers
from streams.webhooks.transport import PinnedTransport

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "failed", "parked", "held", "deferred"]
USER_AGENT = "cqrs-orders-webhooks/1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """An event due at an endpoint; `body` is the rendered envelope, signed anew at every attempt."""

    endpoint_id: UUID
    event_id: str
    event_type: str
    order_id: str
    version: int
    sequence: int
    source: str
    """`topic:partition:offset` of the event."""
    body: bytes

    @property
    def partition(self) -> int:
        return int(self.source.rsplit(":", 2)[1])


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """A line of the delivery log."""

    delivery: Delivery
    number: int
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None
    """A category (`streams.webhooks.failures`), never an exception's text: the log is shown to API users."""
    duration_ms: float | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


class _Refused(Exception):
    """One attempt failed (non-2xx answer, timeout, connection error); tenacity decides whether to try again."""


class Sender:
    """POSTs deliveries; one HTTP client per endpoint, so a slow endpoint's connections never block another's.
    Connections go only to addresses `policy` allows, checked as they are made (`streams.webhooks.transport`)."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        policy: DestinationPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._policy = policy or destination_policy(dev_mode=settings.dev_mode)
        self._clock = clock
        self._clients: dict[UUID, httpx.AsyncClient] = {}

    async def deliver(
        self,
        endpoint: Endpoint,
        delivery: Delivery,
        *,
        attempts: int,
        done: int = 0,
        tried: list[Attempt] | None = None,
    ) -> list[Attempt]:
        """Try up to `attempts` times; the log of every try, the last one `delivered` if it went through.

        `done` attempts were made before (numbering goes on from there); each try is appended to `tried` as it ends,
        so a caller that cancels a delivery midway (a batch deadline) knows what was tried."""
        tried = [] if tried is None else tried
        start = len(tried)
        retrying = AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(
                multiplier=self._settings.backoff_initial_s,
                max=self._settings.backoff_max_s,
                jitter=self._settings.backoff_jitter_s,
            ),
            retry=retry_if_exception_type(_Refused),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    tried.append(await self._attempt(endpoint, delivery, done + len(tried) - start + 1))
                    if not tried[-1].delivered:
                        raise _Refused
        except _Refused:
            pass  # every attempt failed: the log says how; the caller parks the delivery
        return tried[start:]

    async def _attempt(self, endpoint: Endpoint, delivery: Delivery, number: int) -> Attempt:
        headers = signed_headers(endpoint.secret, delivery.event_id, int(self._clock()), delivery.body)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            self._policy.check_url(endpoint.url)  # registered before the rules, or the rules changed
            response = await self._client(endpoint).post(endpoint.url, content=delivery.body, headers=headers)
            status = response.status_code
            if not response.is_success:
                error = failures.http_status(status)
        except (httpx.HTTPError, UnsafeDestination) as failure:
            error = failures.category(failure)
            log.info("webhook %s to endpoint %s: %s (%r)", delivery.event_id, endpoint.id, error, failure)
        elapsed = time.perf_counter() - started
        outcome: Outcome = "failed" if error else "delivered"
        metrics.ATTEMPTS.labels(str(endpoint.id), outcome).inc()
        metrics.ATTEMPT_SECONDS.labels(str(endpoint.id)).observe(elapsed)
        return Attempt(
            delivery=delivery, number=number, outcome=outcome, http_status=status, error=error,
            duration_ms=round(elapsed * 1000, 2),
        )  # fmt: skip

    def _client(self, endpoint: Endpoint) -> httpx.AsyncClient:
        client = self._clients.get(endpoint.id)
        if client is None:
            limit = self._settings.endpoint_concurrency
            limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
            client = httpx.AsyncClient(
                transport=PinnedTransport(self._policy, limits=limits),
                timeout=self._settings.timeout_s,
                follow_redirects=False,  # a redirect could send the signed event elsewhere than registered
                trust_env=False,  # no proxy from the environment: it would resolve and connect out of our sight
            )
            self._clients[endpoint.id] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
