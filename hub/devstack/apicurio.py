"""Apicurio Registry 3.x (Quarkus fast-jar) with durable SQL storage in a file-backed H2 database.

Configuration is passed as environment variables (Quarkus maps ``APICURIO_DATASOURCE_URL`` to
``apicurio.datasource.url`` and so on); the keys were read from the 3.3.3 jar's
``application.properties``. The Confluent-compatible API is served under ``/apis/ccompat/v7``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hub.security.credentials import write_private

MARKER = "apicurio-registry"  # part of the cached distribution's path on the command line
HEAP_MIN = "384m"
HEAP_MAX = "512m"

# The 3.3.3 default prints dates as "2026-11+00-22" (its pattern says YYYY-MMx-dd).
LOG_FORMAT = "%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n"


@dataclass(frozen=True)
class RegistryFiles:
    """Where the registry's database, scratch space and log live under the state directory."""

    root: Path  # <state_dir>/registry
    logs_dir: Path  # <state_dir>/logs

    @property
    def h2_base(self) -> Path:
        """H2 appends ``.mv.db`` to this path."""
        return self.root / "h2" / "registry"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "registry.log"

    @property
    def accounts_file(self) -> Path:
        """Quarkus reads ``config/application.properties`` under its working directory (our
        root): the registry's accounts go there, exact names, no environment-name mangling."""
        return self.root / "config" / "application.properties"


ADMIN_ROLE, READ_ROLE = "sr-admin", "sr-readonly"
REALM = "Quarkus"  # Quarkus's embedded realm name: part of every stored digest


def password_digest(name: str, password: str) -> str:
    """What Quarkus stores for an embedded user with ``algorithm=digest-sha-512``."""
    return hashlib.sha512(f"{name}:{REALM}:{password}".encode()).hexdigest()


def render_accounts(accounts: Mapping[str, tuple[str, str]]) -> str:
    """``name -> (password, role)`` as Quarkus embedded users (digests only, no passwords)."""
    lines = ["# Written by `hub dev up`: the registry's accounts (password digests) and roles."]
    for name, (password, role) in sorted(accounts.items()):
        lines.append(f"quarkus.security.users.embedded.users.{name}={password_digest(name, password)}")
        lines.append(f"quarkus.security.users.embedded.roles.{name}={role}")
    return "\n".join(lines) + "\n"


def h2_url(h2_base: Path) -> str:
    # A file database survives restarts; the default (jdbc:h2:mem:...) forgets every schema.
    return f"jdbc:h2:file:{h2_base}"


# HTTP basic auth against embedded users, with Apicurio's role-based authorization: anyone may
# read schemas (they are the published contract, not personal data); sr-readonly accounts read,
# only sr-admin (the operator) registers, changes or deletes. No identity provider needed.
SECURED = {
    "QUARKUS_HTTP_AUTH_BASIC": "true",
    "QUARKUS_SECURITY_USERS_EMBEDDED_ENABLED": "true",
    "QUARKUS_SECURITY_USERS_EMBEDDED_PLAIN_TEXT": "false",
    "QUARKUS_SECURITY_USERS_EMBEDDED_ALGORITHM": "digest-sha-512",
    "APICURIO_AUTH_ROLE_BASED_AUTHORIZATION": "true",
    "APICURIO_AUTH_ANONYMOUS_READ_ACCESS_ENABLED": "true",
}


def environment(
    host: str, port: int, files: RegistryFiles, base: Mapping[str, str] | None = None,
    secured: bool = False,
) -> dict[str, str]:
    """The process environment: ``base`` (default: ours) plus the registry's settings."""
    bind = "127.0.0.1" if host.lower() == "localhost" else host
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "QUARKUS_HTTP_HOST": bind,
            "QUARKUS_HTTP_PORT": str(port),
            # Health/metrics live on a separate management port (9000 by default, all
            # interfaces): keep it on loopback and let the OS pick a free port.
            "QUARKUS_MANAGEMENT_HOST": bind,
            "QUARKUS_MANAGEMENT_PORT": "0",
            "APICURIO_STORAGE_KIND": "sql",
            "APICURIO_STORAGE_SQL_KIND": "h2",
            "APICURIO_DATASOURCE_URL": h2_url(files.h2_base),
            # The defaults (20 pooled connections, min 20) are sized for a server database.
            "APICURIO_DATASOURCE_JDBC_INITIAL_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MIN_SIZE": "2",
            "APICURIO_DATASOURCE_JDBC_MAX_SIZE": "20",
            # Both default to /tmp; keep the registry's files together.
            "APICURIO_STORAGE_SNAPSHOT_LOCATION": str(files.work_dir),
            "APICURIO_IMPORT_WORK_DIR": str(files.work_dir),
            "QUARKUS_LOG_CONSOLE_FORMAT": LOG_FORMAT,
        }
    )
    if secured:
        env.update(SECURED)
    return env


def command(java: Path, dist_dir: Path) -> list[str]:
    """``java -jar quarkus-run.jar`` with a modest heap."""
    return [
        str(java),
        f"-Xms{HEAP_MIN}",
        f"-Xmx{HEAP_MAX}",
        # Quarkus expects its own log manager; the container image sets this flag too.
        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
        "-jar",
        str(dist_dir / "quarkus-run.jar"),
    ]


def prepare(files: RegistryFiles, accounts: Mapping[str, tuple[str, str]] | None = None) -> None:
    for d in (files.h2_base.parent, files.work_dir, files.logs_dir):
        d.mkdir(parents=True, exist_ok=True)
    if accounts:
        write_private(files.accounts_file, render_accounts(accounts))
    else:
        files.accounts_file.unlink(missing_ok=True)
