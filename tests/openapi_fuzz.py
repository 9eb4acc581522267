"""schemathesis over a served API's OpenAPI document, driven through hypothesis directly (schemathesis' pytest
plugin does not load on this pytest): every generated request, valid or not, must get an answer that is no 5xx
and that matches what the document says of it."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Result
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

# What `get_all_operations` yields: schemathesis itself leaves APIOperation's parameters open.
Operation = APIOperation[Any, Any, Any, Any]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def fuzz(
    url: str,
    *,
    headers: dict[str, str],
    mode: GenerationMode,
    max_examples: int,
    min_operations: int,
    answers_bad_input_with_success: Collection[str] = (),
) -> None:
    """`max_examples` generated cases against each operation of `{url}/openapi.json`; a failing check raises
    (hypothesis reports the smallest failing case).

    `answers_bad_input_with_success` names operations (`"POST /path"`) that by design report invalid input inside
    a 2xx answer: `negative_data_rejection` is not checked there, every other check is."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [_operation(result) for result in schema.get_all_operations()]
    assert len(operations) >= min_operations
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not (operation.query or operation.path_parameters or operation.body):
            continue  # nothing to get wrong (/health, /metrics): hypothesis would find no input at all
        lenient = operation.label in answers_bad_input_with_success
        checks = [check for check in CHECKS if not (lenient and check is negative_data_rejection)]
        _fuzz_operation(operation, url, headers, mode, checks, max_examples)


def _operation(result: Result[Operation, InvalidSchema]) -> Operation:
    """The operation, or the error schemathesis met while reading it from the document."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


def _fuzz_operation(
    operation: Operation,
    url: str,
    headers: dict[str, str],
    mode: GenerationMode,
    checks: list[CheckFunction],
    max_examples: int,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def answers_within_schema(case: schemathesis.Case[Operation]) -> None:
        case.call_and_validate(base_url=url, headers=headers, checks=checks)

    answers_within_schema()
