"""`cqrs` ends any named failure as one message and that failure's own exit code, never a bare trace."""

from __future__ import annotations

import pytest

from cqrs import cli
from infra.errors import PortInUse
from streams.errors import MissingTopic
from writer.importer import WriterUnreachable


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (PortInUse("kafka", "port 59092 is taken", "free it"), 5),
        (MissingTopic("events.Order does not exist"), 3),
        # The demo imports its sample with `run_import`, which raises this instead of exiting on its own.
        (WriterUnreachable("no answer from the writer at http://127.0.0.1:58001"), 3),
    ],
)
def test_a_named_failure_of_any_package_ends_cqrs_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], failure: Exception, code: int
) -> None:
    def command() -> None:
        raise failure

    monkeypatch.setattr(cli, "app", command)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == code
    error = capsys.readouterr().err
    assert "error" in error
    assert "Traceback" not in error
