"""Every way set-up can go wrong ends in a named error that names the service and the fix."""

from __future__ import annotations

import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.errors import DownloadFailed, MissingTool, PortInUse, ServiceUnhealthy
from infra.install import cached, java_home, unzip_single_root
from infra.services.redis import Redis
from infra.settings import Ports, StackSettings
from infra.stack import Stack
from tests.servers import free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_names_the_service_and_how_to_free_it(tmp_path: Path, taken_port: int) -> None:
    settings = StackSettings(state_dir=tmp_path, ports=Ports(redis=taken_port))
    with pytest.raises(PortInUse) as raised:
        Stack(settings, ["redis"]).up()
    assert raised.value.service == "redis"
    assert str(taken_port) in raised.value.problem
    assert "CQRS_PORT_" in raised.value.fix


def test_a_missing_jdk_is_a_named_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(MissingTool) as raised:
        java_home(StackSettings(state_dir=tmp_path, java_home=tmp_path / "no-jdk"))
    assert "openjdk-17" in raised.value.fix


def test_a_service_that_dies_on_start_shows_the_tail_of_its_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(Redis, "command", lambda self: ["redis-server", "--no-such-option", "yes"])
    settings = StackSettings(state_dir=tmp_path, ports=Ports(redis=free_port()), health_timeout_s=20)
    with pytest.raises(ServiceUnhealthy) as raised:
        Stack(settings, ["redis"]).up()
    assert raised.value.service == "redis"
    assert "no-such-option" in raised.value.problem


def test_a_failed_build_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    target = tmp_path / "artifact-1.0"

    def failing_build(out: Path) -> None:
        (out / "half.jar").write_text("partial")
        raise DownloadFailed("kafka", "connection reset", "retry")

    with pytest.raises(DownloadFailed):
        cached(target, failing_build)
    assert not target.exists()

    def whole_build(out: Path) -> None:
        (out / "whole.jar").write_text("complete")

    cached(target, whole_build)
    assert sorted(path.name for path in target.iterdir()) == ["whole.jar"]


def test_a_corrupt_archive_is_rejected_and_removed(tmp_path: Path) -> None:
    archive = tmp_path / "elasticsearch.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("elasticsearch-1/bin/elasticsearch", "#!/bin/sh\n" * 100)
    data = bytearray(archive.read_bytes())
    data[60] ^= 0xFF  # flip a byte inside the stored file: its CRC no longer matches
    archive.write_bytes(bytes(data))
    with pytest.raises(DownloadFailed):
        unzip_single_root("elasticsearch", archive, tmp_path / "out")
    assert not archive.exists()
