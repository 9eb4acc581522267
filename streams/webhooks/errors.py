"""Named errors of the webhooks: the agent's and CLI's (`cqrs` prints them and exits with their code) and the
`/webhooks` routes' (each answers one problem, mapped in `streams.webhooks.problems`)."""

from __future__ import annotations

from streams.errors import StreamsError


class WebhookError(StreamsError):
    """Base of the errors of the webhooks (an app serving the routes registers its problem handler for it)."""


class WebhookStoreUnavailable(WebhookError):
    """The write model's database (endpoints, delivery log, DLQ) cannot be reached; the routes answer 503."""

    exit_code = 3


class UnknownEndpoint(WebhookError):
    exit_code = 2


class WebhookNotFound(WebhookError):
    """No live webhook endpoint has this id (the routes answer 404)."""

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"no webhook endpoint {endpoint_id}")
        self.endpoint_id = endpoint_id


class UnsafeDestination(WebhookError):
    """A webhook URL that may not be delivered to: not https, or a host resolving to a private, loopback,
    link-local, multicast, unspecified or cloud-metadata address (the routes answer 422 naming `url`)."""


class MissingSecretKey(WebhookError):
    """No key to encrypt the endpoints' signing secrets with (`CQRS_WEBHOOKS_SECRET_KEY`) outside dev mode."""

    exit_code = 2


class UnresolvableHost(UnsafeDestination):
    """The URL's host does not resolve (at registration: 422 naming `url`; at delivery: `host not found`)."""
