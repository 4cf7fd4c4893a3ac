"""Fetch Kafka's jars and Apicurio Registry's distribution from Maven Central, once.

Both go through Maven, so a user's ``~/.m2/settings.xml`` (mirrors, proxies) applies and the
local Maven repository is reused. Results land in ``cache_dir`` under a versioned directory that
is written to a temporary sibling first and renamed into place only when complete, so an
interrupted fetch is simply redone next time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from string import Template

from hub.errors import DevStackError
from hub.devstack import APICURIO_VERSION, KAFKA_VERSION, SCALA_BINARY_VERSION

# Pinned so the fetch does not depend on Maven's (old) default plugin version.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
APICURIO_ARTIFACT = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"


class FetchError(DevStackError):
    """Maven is missing or could not fetch an artifact."""


def render_template(name: str, **values: object) -> str:
    """A ``$name`` template shipped in this package, filled in (unknown names are an error)."""
    text = resources.files("hub.devstack").joinpath(name).read_text(encoding="utf-8")
    return Template(text).substitute({k: str(v) for k, v in values.items()})


def kafka_dir(cache_dir: Path) -> Path:
    return cache_dir / f"kafka_{SCALA_BINARY_VERSION}-{KAFKA_VERSION}"


def registry_dir(cache_dir: Path) -> Path:
    return cache_dir / f"apicurio-registry-{APICURIO_VERSION}"


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError(
            "Maven (`mvn`) is not on PATH; it fetches the dev stack from Maven Central."
        )
    return mvn


def _run_maven(args: list[str], cwd: Path, what: str) -> None:
    """Run Maven in batch mode; its own download lines are the progress report."""
    cmd = [_mvn(), "-B", "-Dstyle.color=never", *args]
    # Maven's output goes to stderr so that our stdout stays a short summary.
    proc = subprocess.run(cmd, cwd=cwd, stdout=sys.stderr, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise FetchError(f"Maven failed ({proc.returncode}) fetching {what}: {' '.join(cmd)}")


def _install(build: Callable[[Path], Path], target: Path) -> Path:
    """Let ``build`` assemble the content in a temporary sibling of ``target`` (it returns the
    directory to keep), then rename that into place: ``target`` exists only when complete."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        built = build(tmp)
        if not target.exists():  # else a concurrent fetch finished first; keep its copy
            built.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_kafka(cache_dir: Path, say: Callable[[str], None]) -> Path:
    """The cached Kafka directory (``libs/`` holds the broker's classpath), fetched if missing."""
    target = kafka_dir(cache_dir)
    if (target / "libs").is_dir():
        return target

    def build(tmp: Path) -> Path:
        pom = tmp / "pom.xml"
        pom.write_text(
            render_template(
                "kafka-pom.xml", kafka_version=KAFKA_VERSION, scala_version=SCALA_BINARY_VERSION
            )
        )
        _run_maven(
            [
                "-f",
                str(pom),
                f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={tmp / 'libs'}",
            ],
            cwd=tmp,
            what=f"Apache Kafka {KAFKA_VERSION}",
        )
        if not any((tmp / "libs").glob(f"kafka_{SCALA_BINARY_VERSION}-{KAFKA_VERSION}.jar")):
            raise FetchError(
                f"Maven finished but kafka_{SCALA_BINARY_VERSION}-{KAFKA_VERSION}.jar is missing"
            )
        return tmp

    say(
        f"Fetching Apache Kafka {KAFKA_VERSION} (kafka_{SCALA_BINARY_VERSION} and its "
        f"dependencies, ~45 MB) from Maven Central into {target} (first run only)..."
    )
    return _install(build, target)


def ensure_registry(cache_dir: Path, say: Callable[[str], None]) -> Path:
    """The cached, unpacked Apicurio Registry distribution (holds ``quarkus-run.jar``)."""
    target = registry_dir(cache_dir)
    if (target / "quarkus-run.jar").is_file():
        return target

    def build(tmp: Path) -> Path:
        download = tmp / "download"
        _run_maven(
            [
                f"{DEPENDENCY_PLUGIN}:copy",
                f"-Dartifact={APICURIO_ARTIFACT}",
                f"-DoutputDirectory={download}",
            ],
            cwd=tmp,  # an empty directory: the goal needs no project
            what=f"Apicurio Registry {APICURIO_VERSION}",
        )
        archives = list(download.glob("*.tar.gz"))
        if len(archives) != 1:
            raise FetchError(f"expected one archive from {APICURIO_ARTIFACT}, found {archives}")
        say(f"Unpacking {archives[0].name}...")
        dist = tmp / "dist"
        with tarfile.open(archives[0]) as tar:
            tar.extractall(dist, filter="data")  # "data" refuses absolute paths and links out
        # The archive's inner layout has changed between releases: keep whichever directory
        # holds the Quarkus launcher (3.3.x: the archive root).
        runners = sorted(dist.rglob("quarkus-run.jar"), key=lambda p: len(p.parts))
        if not runners:
            raise FetchError(f"no quarkus-run.jar inside {archives[0].name}")
        return runners[0].parent

    say(
        f"Fetching Apicurio Registry {APICURIO_VERSION} ({APICURIO_ARTIFACT}, ~160 MB) from Maven "
        f"Central into {target} (first run only)..."
    )
    return _install(build, target)
