"""What schemathesis needs to know about our documents beyond OpenAPI, for the suite (tests/openapi_fuzz.py) and for
the CLI alike (`schemathesis --config-file tests/schemathesis.toml run …`, see docs/readapi.md).

OpenAPI states each parameter on its own and knows nothing of earlier requests. A few refusals are about a
combination of parameters, an opaque value (the read API's cursor), or what an earlier request did (an
Idempotency-Key already used for another request: 422, as the IETF Idempotency-Key draft says); no schema can state
them (nor that a command's `expectedVersion` must agree with its `If-Match`), and a request refused only for them is
valid by the document. `positive_data_acceptance_but_these` is `positive_data_acceptance` with exactly those refusals
allowed (the config file lets the built-in check take a 422 on the operations concerned, and this check holds the
rest there); every other refusal of a valid request still fails.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

COMBINATION_RULES: dict[str, frozenset[str]] = {
    # `cursor`: opaque, only the API's own (and made for the same `sort`); `minVersion` and `minVersionOf` go
    # together; a cursor replaces `page`.
    "GET /orders": frozenset({"cursor", "minVersionOf"}),
    # page * limit may not pass Elasticsearch's result window.
    "GET /orders/search": frozenset({"page"}),
    # `from` not after `to`, and at most MAX_ANALYTICS_DAYS between them.
    "GET /analytics/revenue/daily": frozenset({"from", "to"}),
    "GET /analytics/top-skus": frozenset({"from", "to"}),
    # Where a webhook's host resolves to (it must resolve, and to a public address) is the world's state, not the
    # request's shape.
    "POST /webhooks": frozenset({"url"}),
}
"""Operation → the fields a 422 may name for a rule no schema can state (keep in step with schemathesis.toml)."""
KNOWN_GAPS: dict[str, frozenset[str]] = {}
"""Refusals the documents should state but do not yet, by operation and field (a gap to fix, not a rule no schema can
state). Empty: the webhook secret's format is in the document now (`SECRET_PATTERN`)."""
KEYED_METHODS = frozenset({"POST", "DELETE"})
"""The methods of the writer's commands (schemathesis.toml relaxes the built-in check on them): they take an
Idempotency-Key, and `expectedVersion` in the body must agree with `If-Match` when both are given."""
COMMAND_RULES = frozenset({"expectedVersion"})
KEY_REUSED = "urn:cqrs-orders:problem:idempotency-key-reused"


@schemathesis.serializer("application/x-ndjson")
def _ndjson(_: schemathesis.SerializationContext, value: Any) -> bytes:
    """POST /commands/batch documents one line's schema: a generated line is sent as a one-line batch."""
    return json.dumps(value).encode() + b"\n"


def relaxed(label: str) -> bool:
    """Whether the built-in `positive_data_acceptance` gives way to the check below on this operation."""
    return label in COMBINATION_RULES or label in KNOWN_GAPS or label.split(" ", 1)[0] in KEYED_METHODS


@schemathesis.check
def positive_data_acceptance_but_these(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Where `relaxed`, `positive_data_acceptance` but for the refusals no schema can state."""
    if not relaxed(case.operation.label):
        return None  # the built-in check holds there
    if response.status_code == 422 and refused_for_what_no_schema_states(case.operation.label, _problem(response)):
        return None
    return positive_data_acceptance(ctx, response, case)


def refused_for_what_no_schema_states(label: str, problem: dict[str, Any]) -> bool:
    """Whether a 422's problem is one of the refusals above, and none other."""
    if problem.get("type") == KEY_REUSED:
        return True
    named = {str(error.get("field")) for error in problem.get("errors", []) if isinstance(error, dict)}
    rules = COMBINATION_RULES.get(label, frozenset()) | KNOWN_GAPS.get(label, frozenset())
    if label.split(" ", 1)[0] in KEYED_METHODS:
        rules |= COMMAND_RULES
    return bool(named) and named <= rules


def _problem(response: schemathesis.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
