"""A principal's Kafka client properties, in the form every Kafka client reads.

``<principal>.properties`` holds ``bootstrap.servers``, ``security.protocol``,
``sasl.mechanism``, ``sasl.username``, ``sasl.password`` and ``ssl.ca.location``: the names
librdkafka (kcat, confluent-kafka) uses, so the file is handed to any client as it is. The hub's
own clients translate it (``hub.kafka.clients``). Files are written 0600 in a 0700 directory,
atomically, and never logged.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from hub.errors import ConfigurationError

KEYS = ("bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username",
        "sasl.password", "ssl.ca.location")
SECURED = "SASL_SSL"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class KafkaCredentials:
    """How one principal authenticates (the password is kept out of ``repr``)."""

    bootstrap_servers: str
    security_protocol: str
    sasl_mechanism: str
    username: str
    password: str
    ca_location: Path | None

    def __repr__(self) -> str:
        return (f"KafkaCredentials(username={self.username!r}, "
                f"security_protocol={self.security_protocol!r}, password=***)")

    def as_properties(self) -> dict[str, str]:
        props = {"bootstrap.servers": self.bootstrap_servers,
                 "security.protocol": self.security_protocol,
                 "sasl.mechanism": self.sasl_mechanism,
                 "sasl.username": self.username, "sasl.password": self.password}
        if self.ca_location is not None:
            props["ssl.ca.location"] = str(self.ca_location)
        return props


def new_password() -> str:
    return secrets.token_urlsafe(24)


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines (``#``/``!`` comments, blank lines ignored); the subset of the Java
    properties format that client configuration files use."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"line {line.split()[0]!r}... is not key=value")
        props[key.strip()] = value.strip()
    return props


def read_credentials(path: Path) -> KafkaCredentials:
    """The credentials in ``path``; ConfigurationError naming the file and the missing key."""
    try:
        props = parse_properties(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"Kafka credentials file {path} does not exist (`hub dev up` writes one per principal; "
            "set HUB_PRINCIPAL or HUB_CREDENTIALS_FILE)") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"Kafka credentials file {path} cannot be read: {exc}") from None
    missing = [k for k in KEYS[:5] if not props.get(k)]
    if missing:
        raise ConfigurationError(f"Kafka credentials file {path} lacks {', '.join(missing)}")
    ca = props.get("ssl.ca.location")
    return KafkaCredentials(props["bootstrap.servers"], props["security.protocol"],
                            props["sasl.mechanism"], props["sasl.username"], props["sasl.password"],
                            Path(ca) if ca else None)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only, atomically (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def write_credentials(path: Path, credentials: KafkaCredentials) -> None:
    body = "".join(f"{k}={v}\n" for k, v in credentials.as_properties().items())
    write_private(path, f"# Kafka client properties of principal {credentials.username}. "
                        "Keep secret; `hub dev credentials rotate` replaces the password.\n" + body)
