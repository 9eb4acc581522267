"""The import-linter contracts of `make check` are live: each one fails when its forbidden import is added.

The packages are copied to a temporary tree, one import is appended to one module there, and `lint-imports` runs
against the copy for that contract alone. The unchanged copy passing first shows the failure is the import's doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("cqrs", "writer", "readapi", "connectors", "streams", "servicekit", "schemas", "infra")

# contract id → (module file that gains the import, the forbidden import)
VIOLATIONS = {
    "layers": ("schemas/codec.py", "import streams.settings"),
    "pure-domain": ("writer/domain/order.py", "import psycopg"),
    "read-side-never-imports-writer": ("streams/money.py", "import writer.ports"),
    "writer-never-imports-read-side": ("writer/outbox.py", "import streams.records"),
    "readapi-knows-streams-by-contract": ("readapi/cache.py", "import streams.sinks.mongo"),
    "ground-imports-no-app": ("infra/versions.py", "import schemas.events"),
    "nothing-imports-the-root": ("writer/ports.py", "import cqrs.cli"),
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def lint_imports(root: Path, contract: str) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache", "--contract", contract],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_contract_of_the_project_is_checked_here() -> None:
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert {contract["id"] for contract in config["contracts"]} == set(VIOLATIONS)


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_forbidden_import_breaks_the_contract(tree: Path, contract: str) -> None:
    kept = lint_imports(tree, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    module, forbidden = VIOLATIONS[contract]
    path = tree / module
    original = path.read_text()
    path.write_text(f"{original}\n{forbidden}  # added by the test\n")
    try:
        broken = lint_imports(tree, contract)
    finally:
        path.write_text(original)
    assert broken.returncode != 0, broken.stdout
    assert "BROKEN" in broken.stdout
    assert forbidden.removeprefix("import ") in broken.stdout
