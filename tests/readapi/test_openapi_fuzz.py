"""schemathesis over the read API's OpenAPI document, against the real server (`python -m readapi.cli serve`) on the
seeded sandbox: whatever it generates, valid or not, every check `schemathesis run -c all` makes of an answer passes
(no 5xx, everything as documented, valid data accepted, invalid data refused, `Allow` as documented)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from schemathesis.generation import GenerationMode

from servicekit.principals import Role
from tests.openapi_fuzz import fuzz
from tests.readapi.conftest import token
from tests.readapi.seed import Seeded
from tests.servers import served
from tests.streams.pipeline import cli_env

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def server(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = cli_env(seeded.streams) | {
        # Generated minVersions name orders that never reach them: wait briefly, or the run takes minutes.
        "CQRS_READAPI_WAIT_MAX_S": "0.05",
        "CQRS_READAPI_LOG_LEVEL": "warning",
    }
    with served(["readapi.cli", "serve"], env=env, log=tmp_path_factory.mktemp("readapi") / "server.log") as url:
        yield url


# One token per role, both generation modes: each role's own answers (its 403s and 404s included) must match the
# document, and every operation is reachable by some role. Few examples per run keep the eight runs near the time two
# runs of 12 took (tests/openapi_fuzz.py).
EXAMPLES_PER_RUN = 5


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("role", list(Role))
def test_every_generated_request_is_answered_as_the_document_says(
    server: str, role: Role, mode: GenerationMode
) -> None:
    fuzz(
        server,
        token=token([role], subject=f"fuzz-{role}"),
        mode=mode,
        max_examples=EXAMPLES_PER_RUN,
        min_operations=8,
        coverage=role is Role.OPERATOR,  # the coverage phase is about the document: once, past every role check
    )
