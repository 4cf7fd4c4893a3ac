"""SCRAM users on the broker: create or update a principal's password (KIP-554)."""

from __future__ import annotations

from collections.abc import Mapping

from kafka.admin import ScramMechanism, UserScramCredentialUpsertion

from hub.errors import ConfigurationError
from hub.kafka.clients import Clients

# Kafka's own default (kafka-configs) and the floor it accepts for SCRAM-SHA-512: every login
# costs the client and the broker this many HMACs, and kafka-python logs in twice per client.
ITERATIONS = 4096


def upsert_users(clients: Clients, passwords: Mapping[str, str]) -> None:
    """Set each user's SCRAM-SHA-512 password (a new user can authenticate at once).

    Needs ALTER on the cluster: the operator, or the broker's own user when ``hub dev`` does it.
    Errors name the user only, never the password."""
    upserts = [UserScramCredentialUpsertion(user, ScramMechanism.SCRAM_SHA_512, password,
                                            iterations=ITERATIONS)
               for user, password in passwords.items()]
    with clients.administering("oncehub-scram") as admin:
        result = admin.alter_user_scram_credentials(upserts)
    failed = {user: error for user, error in (result or {}).items() if error}
    if failed:
        raise ConfigurationError("setting SCRAM credentials failed for "
                                 + ", ".join(f"{u} ({e})" for u, e in sorted(failed.items())))
