"""Python code for the writer's protobuf definitions (`schemas/proto/`), generated, never committed.

`python -m writer.grpc` (run by `make setup`) writes the messages, the service stubs and their typing stubs
(mypy-protobuf) into `writer/grpc/generated/` (git-ignored); `ensure_generated()` (run when the service module is
imported) regenerates them when the definitions or the generator's version changed, so a fresh clone or an edited
`.proto` never runs stale code. A file lock keeps concurrent processes (uvicorn workers, test runs) from writing
at once; the new tree replaces the old one by rename.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import schemas

PROTO_ROOT = Path(schemas.__file__).resolve().parent / "proto"
GENERATED = Path(__file__).resolve().parent / "generated"
# Imported as `writer.grpc.generated.…`: the definitions are mapped under this import path when compiled.
_IMPORT_PATH = "writer/grpc/generated"
_STAMP = ".stamp"


class CodegenFailed(Exception):
    """protoc refused the definitions; the message carries its exit code (its diagnostics went to stderr)."""


def ensure_generated() -> Path:
    """The generated package, (re)generated if it is missing or older than the definitions."""
    wanted = _fingerprint()
    if _stamp(GENERATED) == wanted:
        return GENERATED
    with _locked():
        if _stamp(GENERATED) != wanted:  # another process may have generated it while we waited
            _generate(wanted)
    return GENERATED


def _protos() -> list[Path]:
    return sorted(PROTO_ROOT.rglob("*.proto"))


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for package in ("grpcio-tools", "mypy-protobuf", "protobuf"):
        digest.update(f"{package}=={metadata.version(package)}\n".encode())
    for proto in _protos():
        digest.update(str(proto.relative_to(PROTO_ROOT)).encode() + b"\0" + proto.read_bytes())
    return digest.hexdigest()


def _stamp(directory: Path) -> str | None:
    try:
        return (directory / _STAMP).read_text().strip()
    except OSError:
        return None


@contextmanager
def _locked() -> Iterator[None]:
    lock = GENERATED.parent / ".generated.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _generate(fingerprint: str) -> None:
    # Only when generating: serving needs the generated code only. grpc_tools ships no type information.
    from grpc_tools import protoc  # type: ignore[import-untyped]

    well_known = Path(protoc.__file__).resolve().parent / "_proto"
    plugins = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(dir=GENERATED.parent, prefix=".generated-") as scratch:
        out = Path(scratch)
        arguments = [
            "grpc_tools.protoc",
            f"-I{_IMPORT_PATH}={PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out}",
            f"--grpc_python_out={out}",
            f"--mypy_out=quiet:{out}",
            f"--mypy_grpc_out=quiet:{out}",
            f"--plugin=protoc-gen-mypy={plugins / 'protoc-gen-mypy'}",
            f"--plugin=protoc-gen-mypy_grpc={plugins / 'protoc-gen-mypy_grpc'}",
            *(f"{_IMPORT_PATH}/{proto.relative_to(PROTO_ROOT)}" for proto in _protos()),
        ]
        code = protoc.main(arguments)
        if code != 0:
            raise CodegenFailed(f"protoc exited with {code} for {PROTO_ROOT}")
        tree = out / _IMPORT_PATH
        for directory in (tree, *(path for path in tree.rglob("*") if path.is_dir())):
            (directory / "__init__.py").touch()
        (tree / _STAMP).write_text(fingerprint + "\n")
        stale = GENERATED.with_name(f".generated-old-{fingerprint[:12]}")
        if GENERATED.exists():
            GENERATED.rename(stale)
        tree.rename(GENERATED)
        shutil.rmtree(stale, ignore_errors=True)
