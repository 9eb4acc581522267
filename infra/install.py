"""Fetch every pinned artifact into the per-user cache, once.

Each artifact is built in `<target>.partial` and renamed into place only when complete, so an interrupted or failed
download is redone next time instead of being mistaken for a finished one. Maven runs with strict checksums.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from infra import versions
from infra.errors import DownloadFailed, MissingTool
from infra.settings import REPO_ROOT, StackSettings

MAVEN_DIR = REPO_ROOT / "infra" / "maven"


def java_home(settings: StackSettings) -> Path:
    """A JDK of at least the major version the JVM services need (Kafka 4 and Elasticsearch 8 need 17)."""
    candidates = [settings.java_home] if settings.java_home else []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    java = shutil.which("java")
    if java:
        candidates.append(Path(java).resolve().parent.parent)
    for home in candidates:
        if home and (home / "bin" / "java").exists() and _java_major(home) >= versions.JAVA_MIN_MAJOR:
            return home
    raise MissingTool(
        "java",
        f"no JDK {versions.JAVA_MIN_MAJOR}+ found (checked CQRS_STACK_JAVA_HOME, JAVA_HOME, PATH)",
        "apt-get install openjdk-17-jre-headless, or set CQRS_STACK_JAVA_HOME to a JDK 17+",
    )


def _java_major(home: Path) -> int:
    out = subprocess.run([str(home / "bin" / "java"), "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)', out)
    return int(match.group(1)) if match else 0


def require_tool(name: str, service: str, fix: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MissingTool(service, f"`{name}` is not installed", fix)
    return path


def cached(target: Path, build: Callable[[Path], None]) -> Path:
    """Return `target`, building it through a `.partial` directory first if it is not there yet."""
    if target.exists():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    build(partial)
    partial.rename(target)
    return target


def go_install(service: str, package: str, version: str, cache_dir: Path, tags: Sequence[str] = ()) -> Path:
    """The binary of Go `package` at module `version`, built once into `cache_dir/<name>-<version>` (`go install`
    from the module proxy, checksums from the module's go.sum, with build `tags`); CGO off: no C toolchain needed."""
    parts = package.rstrip("/").split("/")
    name = parts[-2] if re.fullmatch(r"v\d+", parts[-1]) else parts[-1]  # Go names `…/vegeta/v12` `vegeta`

    def build(out: Path) -> None:
        go = require_tool("go", service, "install Go 1.22+ (https://go.dev/doc/install) and rerun")
        argv = [go, "install", *(["-tags", ",".join(tags)] if tags else []), f"{package}@{version}"]
        run_step(service, argv, "see the Go error above", env={"GOBIN": str(out / "bin"), "CGO_ENABLED": "0"})

    return cached(cache_dir / f"{name}-{version}", build) / "bin" / name


def pom_digest(pom: str) -> str:
    """Part of a Maven artifact's cache key: a changed pom (a new exclusion, say) must not reuse the old folder."""
    return hashlib.sha256((MAVEN_DIR / pom).read_bytes()).hexdigest()[:8]


def maven_copy(service: str, pom: str, properties: dict[str, str], out: Path) -> None:
    mvn = require_tool("mvn", service, "apt-get install maven")
    argv = [
        mvn, "-B", "-q", "-C", "-f", str(MAVEN_DIR / pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={out}", "-Dmdep.useRepositoryLayout=false",
        *(f"-D{key}={value}" for key, value in properties.items()),
    ]  # fmt: skip
    run_step(service, argv, "check the network to Maven Central, then rerun `cqrs stack install`")


def apt_install(service: str, packages: Sequence[str]) -> None:
    if os.geteuid() != 0:
        raise MissingTool(service, f"{' '.join(packages)} not installed", f"sudo apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise DownloadFailed(service, f"{' '.join(argv)} failed:\n{result.stderr[-2000:]}", "check apt sources")


def unzip_single_root(service: str, archive: Path, out: Path) -> None:
    """Unpack a zip whose entries sit under one top folder, dropping that folder, keeping exec bits."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            if bundle.testzip() is not None:
                raise zipfile.BadZipFile("CRC mismatch")
            for info in bundle.infolist():
                relative = Path(*Path(info.filename).parts[1:])
                if not relative.parts:
                    continue
                target = out / relative
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                mode = info.external_attr >> 16
                if mode:
                    target.chmod(mode & 0o777)
    except zipfile.BadZipFile as error:
        archive.unlink(missing_ok=True)
        raise DownloadFailed(service, f"{archive.name} is corrupt ({error})", "rerun `cqrs stack install`") from error


FERRETDB_PATCHES: tuple[tuple[str, str, str], ...] = (
    # (file, text, replacement). FerretDB 1.24's SQLite backend looks documents up by `_ferretdb_sjson->'$._id'`,
    # but creates the unique `_id` index on `_ferretdb_sjson->"_id"`: SQLite matches index expressions by their text,
    # so every find, replace and delete by `_id` scanned the whole collection (0.4 s per lookup at 40k documents).
    # `->'_id'` means the same path and uses the index (a lookup takes 50 µs).
    (
        "internal/backends/sqlite/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        "IDColumn = DefaultColumn + \"->'_id'\"",
    ),
)
FERRETDB_BUILD = hashlib.sha256(repr(FERRETDB_PATCHES).encode()).hexdigest()[:8]
"""Part of the binary's cache key: a changed patch must not reuse a binary built without it."""


def go_build_ferretdb(out: Path) -> None:
    """Build FerretDB from its module source (Go module proxy, checksums from go.sum), writing the version file its
    release tooling would generate (the module zip ships it empty and the binary refuses to start without it), with
    `FERRETDB_PATCHES` applied."""
    go = require_tool("go", "ferretdb", "install Go 1.22+ (https://go.dev/doc/install) and rerun")
    module = f"github.com/FerretDB/FerretDB@{versions.FERRETDB}"
    listing = run_step("ferretdb", [go, "mod", "download", "-json", module], "check the Go module proxy")
    source = Path(json.loads(listing)["Dir"])
    work = out / "src"
    shutil.copytree(source, work)
    for path in work.rglob("*"):
        path.chmod(path.stat().st_mode | 0o200)
    (work / "build" / "version" / "version.txt").write_text(versions.FERRETDB + "\n")
    for relative, text, replacement in FERRETDB_PATCHES:
        source_file = work / relative
        code = source_file.read_text()
        if text not in code:
            raise DownloadFailed("ferretdb", f"patch target not found in {relative}", "check FERRETDB_PATCHES")
        source_file.write_text(code.replace(text, replacement))
    run_step(
        "ferretdb",
        [go, "build", "-trimpath", "-o", str(out / "bin" / "ferretdb"), "./cmd/ferretdb"],
        "see the Go error above",
        cwd=work,
        env={"CGO_ENABLED": "0"},
    )
    shutil.rmtree(work)


def run_step(
    service: str, argv: Sequence[str], fix: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-3000:]
        raise DownloadFailed(service, f"`{' '.join(argv[:4])} …` failed:\n{tail}", fix)
    return result.stdout
