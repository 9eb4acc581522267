"""`cqrs token` mints short-lived tokens, and an operator token only when asked for explicitly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from servicekit.principals import Role
from servicekit.tokens import verify_token
from writer.cli import app
from writer.settings import WriterSettings

runner = CliRunner()


def test_a_token_longer_lived_than_a_day_is_refused() -> None:
    result = runner.invoke(app, ["token", "--role", "staff", "--ttl", str(24 * 3600 + 1)])
    assert result.exit_code == 2
    assert "24 h" in result.output
    assert "eyJ" not in result.output


def test_a_day_long_token_is_minted() -> None:
    result = runner.invoke(app, ["token", "--role", "staff", "--subject", "s-1", "--ttl", str(24 * 3600)])
    assert result.exit_code == 0, result.output
    assert verify_token(WriterSettings(), result.output.strip()).subject == "s-1"


def test_an_operator_token_is_refused_unless_asked_for_explicitly() -> None:
    refused = runner.invoke(app, ["token", "--role", "operator"])
    assert refused.exit_code == 2
    assert "--allow-operator" in refused.output
    minted = runner.invoke(app, ["token", "--role", "operator", "--allow-operator", "--subject", "ops-1"])
    assert minted.exit_code == 0, minted.output
    assert verify_token(WriterSettings(), minted.output.strip()).roles == {Role.OPERATOR}


@pytest.mark.parametrize("ttl", ["0", "-60"])
def test_a_token_with_no_lifetime_is_refused(ttl: str) -> None:
    assert runner.invoke(app, ["token", "--ttl", ttl]).exit_code != 0
