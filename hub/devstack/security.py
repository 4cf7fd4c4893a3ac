"""The dev stack's security: TLS material, one SCRAM principal per department and service,
their client-properties files, the registry's accounts, and the ACLs of the topic prefix.

Before the broker starts: the local CA and broker certificate (``<state_dir>/tls``), the broker's
own users (``<state_dir>/kafka``), and a credentials file per principal
(``<state_dir>/credentials/<principal>.properties``, 0600), each password made once and kept.
After it answers: every principal's SCRAM password is set on the broker and the ACL plan of the
settings' topic prefix applied, both idempotently, as the broker's own super user — so a lost or
rotated operator password never locks ``hub dev`` out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hub.config import HubSettings
from hub.errors import ConfigurationError
from hub.devstack import apicurio
from hub.devstack.health import first_bootstrap
from hub.devstack.kafka import BrokerSecurity, KafkaFiles
from hub.security.credentials import (MECHANISM, SECURED, KafkaCredentials, new_password,
                                      read_credentials, write_credentials, write_private)
from hub.security.principals import SUPER_USERS, all_principals
from hub.security.tls import TlsFiles, ensure_tls

BROKER_USER = "hub-broker"  # the broker's own SCRAM user (inter-broker traffic), a super user
CONTROLLER_USER = "hub-controller"  # SASL/PLAIN on the loopback controller listener


@dataclass(frozen=True)
class DevSecurity:
    settings: HubSettings
    kafka_files: KafkaFiles

    @property
    def tls(self) -> TlsFiles:
        return TlsFiles(self.settings.state_dir / "tls")

    def credentials(self, username: str, password: str) -> KafkaCredentials:
        return KafkaCredentials(self.settings.bootstrap_servers, SECURED, MECHANISM, username,
                                password, self.tls.ca_cert.resolve())

    def _ensure_file(self, path: Path, username: str) -> str:
        """The password in ``path`` (made and written if there is none); the file is rewritten
        when the cluster's address or CA location changed."""
        try:
            current = read_credentials(path)
            password = current.password
        except Exception:  # noqa: BLE001 - missing or unreadable: a new password, a new file
            current, password = None, new_password()
        wanted = self.credentials(username, password)
        if current != wanted:
            write_credentials(path, wanted)
        return password

    def principal_passwords(self) -> dict[str, str]:
        """Every principal's password, from its credentials file (made if missing)."""
        folder = self.settings.credentials_dir
        return {name: self._ensure_file(folder / f"{name}.properties", name)
                for name in all_principals()}

    def _controller_password(self) -> str:
        path = self.kafka_files.root / "controller.secret"
        if not path.exists():
            write_private(path, new_password() + "\n")
        return path.read_text().strip()

    def broker(self) -> BrokerSecurity:
        """TLS files, the broker's own users, every principal's file: what the broker needs."""
        host, _ = first_bootstrap(self.settings.bootstrap_servers)
        ensure_tls(self.tls, [host])
        self.principal_passwords()
        broker_password = self._ensure_file(self.kafka_files.admin_properties, BROKER_USER)
        return BrokerSecurity(
            broker_user=BROKER_USER, broker_password=broker_password,
            controller_user=CONTROLLER_USER, controller_password=self._controller_password(),
            keystore=self.tls.broker_keystore.resolve(), truststore=self.tls.ca_cert.resolve(),
            super_users=(BROKER_USER, CONTROLLER_USER, *sorted(SUPER_USERS)))

    def registry_accounts(self) -> dict[str, tuple[str, str]]:
        """Every principal may read schemas with its own name and password; the operator alone
        registers and deletes."""
        return {name: (password, apicurio.ADMIN_ROLE if name in SUPER_USERS else apicurio.READ_ROLE)
                for name, password in self.principal_passwords().items()}

    def admin_settings(self) -> HubSettings:
        """Settings that authenticate as the broker's own super user."""
        return self.settings.model_copy(update={"credentials_file": self.kafka_files.admin_properties})

    def ready(self, say: Callable[[str], None]) -> None:
        """The broker answers: set every principal's password, apply the prefix's ACLs."""
        from hub.kafka import acls, scram  # the Kafka client loads only when a broker runs
        from hub.kafka.clients import Clients
        from hub.kafka.topic_names import TopicNames
        from hub.rules import load_rules
        from hub.security.acl_plan import plan

        passwords = self.principal_passwords()
        with Clients(self.admin_settings()) as clients:
            scram.upsert_users(clients, passwords)
            change = acls.apply(clients, self.settings.topic_prefix,
                                plan(TopicNames(self.settings.topic_prefix), load_rules()))
        say(f"kafka: {len(passwords)} principals, credentials in {self.settings.credentials_dir}; "
            f"ACLs for prefix {self.settings.topic_prefix!r}: {len(change.created)} created, "
            f"{len(change.deleted)} removed, {change.unchanged} unchanged")


def rotate(settings: HubSettings, principal: str, say: Callable[[str], None]) -> None:
    """A new password for ``principal``: set on the broker first (as the broker's own user),
    then written to its credentials file, then the registry's account re-rendered. Clients
    already connected keep their sessions; new connections need the new file."""
    from hub.kafka import scram
    from hub.kafka.clients import Clients

    if principal not in all_principals():
        raise ConfigurationError(f"unknown principal {principal!r}; known: {', '.join(all_principals())}")
    security = DevSecurity(settings, KafkaFiles(settings.state_dir / "kafka", settings.state_dir / "logs"))
    if not security.kafka_files.admin_properties.exists():
        raise ConfigurationError(f"no dev-stack broker credentials under {security.kafka_files.root}: "
                                 "rotation here is for a stack `hub dev up` made")
    path = settings.credentials_dir / f"{principal}.properties"
    password = new_password()
    with Clients(security.admin_settings()) as clients:
        scram.upsert_users(clients, {principal: password})
    write_credentials(path, security.credentials(principal, password))
    say(f"{principal}: new SCRAM password set on the broker and written to {path}")
