"""`cqrs connectors ...` as operators run it: idempotent registration and clear errors with non-zero exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from connectors.settings import CONFIG_DIR
from infra.stack import Stack

pytestmark = pytest.mark.stack
CQRS = str(Path(sys.executable).parent / "cqrs")


def cqrs(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CQRS, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=120)


def config_dir_with(tmp_path: Path, **overrides: str) -> Path:
    document = yaml.safe_load((CONFIG_DIR / "orders-outbox.yaml").read_text())
    document["config"].update(overrides)
    (tmp_path / "orders-outbox.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_register_twice_is_idempotent_and_status_shows_the_slot(relay: Stack) -> None:
    for _ in range(2):
        result = cqrs("connectors", "register", "orders-outbox")
        assert result.returncode == 0, result.stdout + result.stderr
    status = cqrs("connectors", "status", "orders-outbox")
    assert status.returncode == 0, status.stdout
    assert "RUNNING" in status.stdout
    assert "slot cqrs_outbox" in status.stdout


def test_register_against_a_down_connect_says_so_with_exit_code_3(relay: Stack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = probe.getsockname()[1]
    result = cqrs("connectors", "validate", "orders-outbox", CQRS_CONNECTORS_CONNECT_URL=f"http://127.0.0.1:{nobody}")
    assert result.returncode == 3
    assert "unreachable" in result.stderr


def test_an_unknown_connector_class_is_rejected_before_anything_is_registered(relay: Stack, tmp_path: Path) -> None:
    configs = config_dir_with(tmp_path, **{"connector.class": "io.example.NoSuchConnector"})
    result = cqrs("connectors", "validate", "orders-outbox", CQRS_CONNECTORS_CONFIG_DIR=str(configs))
    assert result.returncode == 2
    assert "connector.class" in result.stderr


def test_a_bad_setting_is_reported_by_name(relay: Stack, tmp_path: Path) -> None:
    configs = config_dir_with(tmp_path, **{"snapshot.mode": "sometimes"})
    result = cqrs("connectors", "register", "orders-outbox", CQRS_CONNECTORS_CONFIG_DIR=str(configs))
    assert result.returncode == 2
    assert "snapshot.mode" in result.stderr


def test_an_unknown_connector_name_lists_the_known_ones(relay: Stack) -> None:
    result = cqrs("connectors", "status", "no-such-connector")
    assert result.returncode == 4
    assert "orders-outbox" in result.stderr
