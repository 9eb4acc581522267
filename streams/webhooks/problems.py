"""The `/webhooks` routes' errors as RFC 9457 problems, mapped here and only here, and their OpenAPI descriptions.

An app that serves the routes chains `webhook_problem` after its own mapper (the kit's common mapping comes last)
and registers the handler for `WEBHOOK_ERRORS`; bad tokens, roles and malformed fields are the kit's problems.
"""

from __future__ import annotations

from typing import Any

from servicekit import openapi as kit
from servicekit.problems import Problem, store_unavailable_problem
from streams.webhooks.errors import WebhookError, WebhookNotFound, WebhookStoreUnavailable

WEBHOOK_ERRORS: tuple[type[Exception], ...] = (WebhookError,)
"""The base classes of the errors the routes raise themselves."""

# Worded as the writer's API document has described these statuses since /webhooks joined it: the routes are
# served in that document, and moving their code must not change it.
WHEN = {
    400: "The body is not valid JSON.",
    401: "No valid bearer token (see WWW-Authenticate).",
    403: "The caller's role may not do this.",
    404: "No such order, item or command (or not the caller's).",
    422: "Invalid fields (`errors` names each), or an Idempotency-Key reused for another request.",
    503: "The database cannot be reached; retry.",
}


def webhook_problem(error: Exception) -> Problem | None:
    """The routes' own errors; None for any other."""
    match error:
        case WebhookNotFound():
            return Problem(status=404, slug="webhook-not-found", title="No such webhook endpoint", detail=str(error))
        case WebhookStoreUnavailable():
            return store_unavailable_problem("the write model cannot be reached right now; retry shortly")
        case _:
            return None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting these problem statuses as application/problem+json."""
    return kit.problem_responses(WHEN, *statuses)
