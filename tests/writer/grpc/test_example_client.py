"""examples/grpc_client.py, run as a user would run it, against the real writer's gRPC port."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.settings import REPO_ROOT
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.writer.grpc.conftest import ServedWriter


def test_the_example_client_places_an_order_adds_an_item_and_reads_a_conflicts_details(
    served_writer: ServedWriter,
) -> None:
    token = mint_token(served_writer.settings, subject="c-example", roles=[Role.CUSTOMER])
    argv = [sys.executable, str(REPO_ROOT / "examples" / "grpc_client.py"),
            "--target", served_writer.grpc_target, "--token", token, "--customer", "c-example"]  # fmt: skip
    finished = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT, check=False)
    assert finished.returncode == 0, finished.stderr
    created, added, refused = (json.loads(line) for line in finished.stdout.splitlines())
    assert (created["step"], created["version"]) == ("created", 1)
    assert created["location"] == f"/orders/{created['orderId']}?minVersion=1"
    assert (added["step"], added["orderId"], added["version"]) == ("item added", created["orderId"], 2)
    assert (refused["code"], refused["reason"]) == ("ABORTED", "VERSION_CONFLICT")
    assert refused["metadata"]["currentVersion"] == "2"
