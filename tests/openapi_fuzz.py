"""schemathesis over a served API's OpenAPI document, driven through hypothesis directly (schemathesis' pytest
plugin does not load on this pytest), with every check `schemathesis run -c all` makes of a single response: no
5xx; status codes, content types, headers and bodies as documented; every request the document allows accepted,
every request it forbids rejected; a missing required header refused; an undocumented method answered 405 and
`OPTIONS` with exactly the documented methods in `Allow`.

Two generators feed the checks: hypothesis' (random requests, shrunk to the smallest failing one), and
schemathesis' coverage phase (the boundaries of every constraint, each parameter left out or mistyped, the methods
the document does not declare), which `schemathesis run` also starts with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.auths import AuthContext, set_on_generated_case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.core.errors import InvalidSchema
from schemathesis.core.result import Err, Result
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import CoverageScenario, coverage_scenario
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.schemathesis_hooks import positive_data_acceptance_but_these, relaxed

# What `get_all_operations` yields: schemathesis itself leaves APIOperation's parameters open.
Operation = APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Operation]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    positive_data_acceptance_but_these,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]

CASES_PER_SCENARIO = 2
"""Coverage cases sent per operation and kind (`incorrect_type`, `invalid_pattern`, …): the first few show whether
the server holds the constraint, and the bulk (each field with each wrong JSON type) is the random fuzzer's too."""
_EVERY_CASE = {CoverageScenario.UNSPECIFIED_HTTP_METHOD, CoverageScenario.MISSING_PARAMETER}


def fuzz(
    url: str,
    *,
    token: str,
    mode: GenerationMode,
    max_examples: int,
    min_operations: int,
    coverage: bool,
    answers_bad_input_with_success: Collection[str] = (),
) -> None:
    """`max_examples` generated cases against each operation of `{url}/openapi.json`, then with `coverage` the
    coverage phase's cases of this mode, with `token` as the bearer token; a failing check raises (hypothesis
    reports the smallest failing case). The coverage phase is about the document, whoever asks, and takes most of
    the time: the callers run it with the one token whose requests get past every role check.

    `answers_bad_input_with_success` names operations (`"POST /path"`) that by design report invalid input inside
    a 2xx answer: `negative_data_rejection` is not checked there, every other check is."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    # As schemathesis' own auth, not as a fixed header: a negative case that leaves the token out (to see a 401)
    # is then sent without it, instead of with a token that makes it a valid request expected to fail.
    schema.auth.auth(refresh_interval=None)(_bearer(token))
    operations = [_operation(result) for result in schema.get_all_operations()]
    assert len(operations) >= min_operations
    with requests.Session() as session:
        for operation in operations:
            checks = _checks_of(operation.label, lenient=operation.label in answers_bad_input_with_success)
            target = Target(url, session, checks)
            if mode is GenerationMode.POSITIVE or operation.query or operation.path_parameters or operation.body:
                # Negative data for /health or /metrics: hypothesis would find no input at all.
                _fuzz_operation(operation, target, mode, max_examples)
            if coverage:
                _cover_operation(schema, operation, target, mode)


def _checks_of(label: str, *, lenient: bool) -> list[CheckFunction]:
    """Every check; where refusals no schema can state may come, those allowed (tests/schemathesis.toml does the
    same for the CLI)."""
    excluded = {negative_data_rejection} if lenient else set()
    if relaxed(label):
        excluded.add(positive_data_acceptance)
    return [check for check in CHECKS if check not in excluded]


def _bearer(token: str) -> type:
    class Bearer:
        def get(self, case: Case, context: AuthContext) -> str:
            return token

        def set(self, case: Case, data: str, context: AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    return Bearer


def _operation(result: Result[Operation, InvalidSchema]) -> Operation:
    """The operation, or the error schemathesis met while reading it from the document."""
    if isinstance(result, Err):
        raise result.err()
    return result.ok()


@dataclass(frozen=True, slots=True)
class Target:
    """Where cases go (one keep-alive session for all) and what their answers must pass."""

    url: str
    session: requests.Session
    checks: list[CheckFunction]

    def send(self, case: Case) -> None:
        case.call_and_validate(base_url=self.url, session=self.session, checks=self.checks)


def _fuzz_operation(operation: Operation, target: Target, mode: GenerationMode, max_examples: int) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def answers_within_schema(case: Case) -> None:
        target.send(case)

    answers_within_schema()


def _cover_operation(schema: BaseSchema, operation: Operation, target: Target, mode: GenerationMode) -> None:
    """schemathesis' coverage cases of this mode (the undeclared methods, `OPTIONS` included, are negative), at
    most `CASES_PER_SCENARIO` of each kind but every undeclared method and every left-out parameter."""
    generation = schema.config.generation_for(operation=operation, phase="coverage")
    cases = schema.iter_coverage_cases(operation, generation_modes=[mode], generation_config=generation)
    context = AuthContext(operation=operation, app=None)
    sent: Counter[CoverageScenario | None] = Counter()
    for case in cases:
        scenario = coverage_scenario(case)
        if sent[scenario] >= CASES_PER_SCENARIO and scenario not in _EVERY_CASE:
            continue
        sent[scenario] += 1
        set_on_generated_case(case, context, None)  # the token, unless the case is about leaving it out
        target.send(case)
