"""Find installed JDKs and pick one per server.

Kafka 4.x brokers need Java 17 (the machine's 17 is preferred); Apicurio Registry 3.3.x needs
Java 21 or newer. Both can be forced with an environment variable naming a JDK home
(``HUB_KAFKA_JAVA_HOME``, ``HUB_REGISTRY_JAVA_HOME``); otherwise the usual install locations are
searched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.errors import DevStackError
from hub.devstack import (
    APICURIO_MIN_JAVA,
    APICURIO_VERSION,
    KAFKA_MIN_JAVA,
    KAFKA_PREFERRED_JAVA,
    KAFKA_VERSION,
)

KAFKA_JAVA_ENV = "HUB_KAFKA_JAVA_HOME"
REGISTRY_JAVA_ENV = "HUB_REGISTRY_JAVA_HOME"

# Directories whose children are JDK homes (Debian/Ubuntu, RHEL, containers, SDKMAN, macOS).
JDK_PARENT_DIRS = (
    Path("/usr/lib/jvm"),
    Path("/usr/java"),
    Path("/opt/java"),
    Path.home() / ".sdkman" / "candidates" / "java",
    Path("/Library/Java/JavaVirtualMachines"),
)

_VERSION_RE = re.compile(r'(?:JAVA_VERSION=|version )"(?P<v>[^"]+)"')


class JavaNotFound(DevStackError):
    """No installed JDK satisfies a server's requirement."""


@dataclass(frozen=True, order=True)
class Jdk:
    """An installed JDK: its major version and home directory."""

    major: int
    home: Path

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def parse_major(version: str) -> int | None:
    """Major Java version of a version string: "17.0.15" → 17, "1.8.0_392" → 8, "25" → 25."""
    m = re.match(r"(\d+)(?:\.(\d+))?", version.strip())
    if not m:
        return None
    first = int(m.group(1))
    if first == 1 and m.group(2):  # pre-9 scheme: 1.8 is Java 8
        return int(m.group(2))
    return first


def jdk_at(home: Path) -> Jdk | None:
    """The JDK installed at ``home``, or None if there is no runnable java there."""
    home = Path(home)
    if (home / "Contents" / "Home" / "bin" / "java").exists():  # macOS bundle layout
        home = home / "Contents" / "Home"
    java = home / "bin" / "java"
    if not java.is_file() or not os.access(java, os.X_OK):
        return None
    text = ""
    release = home / "release"
    if release.is_file():
        text = release.read_text(errors="replace")
    if not _VERSION_RE.search(text):
        # No usable `release` file (some distributions omit it): ask the binary itself.
        try:
            proc = subprocess.run(
                [str(java), "-version"], capture_output=True, text=True, timeout=30
            )
            text = proc.stderr + proc.stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
    m = _VERSION_RE.search(text)
    major = parse_major(m.group("v")) if m else None
    return Jdk(major, home.resolve()) if major else None


def candidate_homes(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Directories that may be JDK homes: $JAVA_HOME, the `java` on PATH, the usual parents."""
    environ = os.environ if environ is None else environ
    homes: list[Path] = []
    if environ.get("JAVA_HOME"):
        homes.append(Path(environ["JAVA_HOME"]))
    on_path = shutil.which("java", path=environ.get("PATH"))
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    for parent in JDK_PARENT_DIRS:
        if parent.is_dir():
            homes.extend(sorted(p for p in parent.iterdir() if p.is_dir()))
    return homes


def discover_jdks(homes: Iterable[Path]) -> list[Jdk]:
    """Every distinct JDK among ``homes`` (symlinked aliases collapse to one), oldest first."""
    found: dict[Path, Jdk] = {}
    for home in homes:
        jdk = jdk_at(home)
        if jdk is not None:
            found.setdefault(jdk.home, jdk)
    return sorted(found.values())


def choose(jdks: Iterable[Jdk], *, min_major: int, prefer: int | None = None) -> Jdk | None:
    """The JDK of the preferred major version if installed, else the newest >= ``min_major``."""
    usable = [j for j in jdks if j.major >= min_major]
    preferred = [j for j in usable if j.major == prefer]
    return max(preferred or usable, default=None)


def _select(
    *,
    what: str,
    env_var: str,
    min_major: int,
    prefer: int | None,
    environ: Mapping[str, str] | None,
    homes: Iterable[Path] | None,
) -> Jdk:
    environ = os.environ if environ is None else environ
    forced = environ.get(env_var)
    if forced:
        jdk = jdk_at(Path(forced))
        if jdk is None:
            raise JavaNotFound(f"{env_var}={forced} is not a JDK home (no runnable bin/java).")
        if jdk.major < min_major:
            raise JavaNotFound(
                f"{what} needs Java >= {min_major}, but {env_var}={forced} is Java {jdk.major}."
            )
        return jdk
    jdks = discover_jdks(candidate_homes(environ) if homes is None else homes)
    jdk = choose(jdks, min_major=min_major, prefer=prefer)
    if jdk is None:
        seen = ", ".join(f"Java {j.major} at {j.home}" for j in jdks) or "none"
        raise JavaNotFound(
            f"{what} needs Java >= {min_major}; installed JDKs: {seen}. Install a JDK "
            f"{min_major} or newer (e.g. under /usr/lib/jvm) or set {env_var} to its home."
        )
    return jdk


def kafka_jdk(environ: Mapping[str, str] | None = None, homes: Iterable[Path] | None = None) -> Jdk:
    """The JDK that runs Kafka: ``HUB_KAFKA_JAVA_HOME``, else Java 17, else the newest newer one."""
    return _select(
        what=f"Apache Kafka {KAFKA_VERSION}",
        env_var=KAFKA_JAVA_ENV,
        min_major=KAFKA_MIN_JAVA,
        prefer=KAFKA_PREFERRED_JAVA,
        environ=environ,
        homes=homes,
    )


def registry_jdk(
    environ: Mapping[str, str] | None = None, homes: Iterable[Path] | None = None
) -> Jdk:
    """The JDK that runs Apicurio Registry: ``HUB_REGISTRY_JAVA_HOME``, else the newest >= 21."""
    return _select(
        what=f"Apicurio Registry {APICURIO_VERSION} (compiled for Java {APICURIO_MIN_JAVA})",
        env_var=REGISTRY_JAVA_ENV,
        min_major=APICURIO_MIN_JAVA,
        prefer=None,
        environ=environ,
        homes=homes,
    )
