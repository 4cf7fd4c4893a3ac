"""Typed configuration, read from the environment only at the entry points.

Every setting has the ``HUB_`` prefix (``HUB_BOOTSTRAP_SERVERS``, ``HUB_SCHEMA_REGISTRY_URL`` …)
and defaults to the local development stack started by ``hub dev up``, so the same code runs
against a production cluster by changing the environment alone. Unknown ``HUB_*`` keys passed
as arguments are refused rather than ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from limits import parse as parse_rate_limit
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class HubSettings(BaseSettings):
    """Where the hub's Kafka, registry and local state live, and how it names its topics."""

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="forbid", frozen=True)

    bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    schema_registry_url: str = Field(
        "http://127.0.0.1:8080/apis/ccompat/v7",
        description="Base URL of a Confluent-compatible schema registry API.",
    )
    kafka_security: Literal["sasl_ssl", "plaintext"] = Field(
        "sasl_ssl", description="sasl_ssl: authenticate with the principal's credentials file over "
        "TLS (the dev stack's broker accepts nothing else); plaintext: an unsecured cluster."
    )
    principal: str = Field(
        "operator", pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Whose credentials this process uses (a department such as civil-affairs, or "
        "router, auditor, projections, gateway, operator)."
    )
    credentials_file: Path | None = Field(
        None, description="Kafka client properties of the principal; default "
        "<state_dir>/credentials/<principal>.properties (written by `hub dev up`)."
    )
    topic_prefix: str = Field(
        "oncehub", pattern=r"^[A-Za-z0-9._-]+$", description="Prefix of every topic the hub owns."
    )
    topic_partitions: int = Field(3, ge=1, description="Partitions of topics the hub creates.")
    topic_replication: int = Field(1, ge=1, description="Replication factor of hub topics.")
    state_dir: Path = Field(
        REPO_ROOT / ".state", description="Local state: dev-stack data, logs, tokens file."
    )
    cache_dir: Path = Field(
        Path.home() / ".cache" / "once-only-hub",
        description="Downloaded jars and archives for the dev stack, kept between runs.",
    )
    tokens_file: Path | None = Field(
        None, description="JSON file of ingest bearer-token hashes; default <state_dir>/tokens.json."
    )
    citizen_link_key_file: Path | None = Field(
        None, description="Key of the citizens' signed links (`hub citizen link`); default "
        "<state_dir>/citizen-link.key, created on first use."
    )
    pseudonym_keys_file: Path | None = Field(
        None, description="Keys of the audit trail's subject pseudonyms (kept outside Kafka); "
        "default <state_dir>/pseudonym-keys.json, created on first use."
    )
    master_key_file: Path | None = Field(
        None, description="The hub's master key (X25519, private): it unwraps each person's key "
        "for crypto-shredding; default <state_dir>/master-key.json, created on first use. Only "
        "the hub's own processes (router, replay, serve, erase) are given it."
    )
    master_public_key_file: Path | None = Field(
        None, description="The master key's public half, given to every publisher (not a secret); "
        "default <state_dir>/master-key.pub.json."
    )
    producer_linger_ms: int = Field(
        0, ge=0, description="Producer batching delay; 0 suits synchronous publishes (see BENCHMARKS.md)."
    )
    publish_timeout_s: float = Field(
        10.0, gt=0, description="Upper bound on one publish, registry and broker included."
    )
    deadline_check_s: float = Field(
        30.0, gt=0, description="How often the router's leader looks for items past their deadline."
    )
    early_supplement_ttl_s: float = Field(
        86_400.0, gt=0, description="How long the router keeps a supplement read before the event "
        "it completes (topics are read side by side) before dead-lettering it."
    )
    route_batch_max: int = Field(
        100, ge=1, description="Most records the router routes as one batch: their outputs are "
        "sent together and acknowledged before any of them is committed (1: one at a time)."
    )
    route_batch_wait_s: float = Field(
        0.005, ge=0, description="How long the router waits for a batch to fill before routing "
        "what it has (the latency a record may gain when the topics are quiet)."
    )
    max_body_bytes: int = Field(64 * 1024, gt=0, description="Largest HTTP ingest body accepted.")
    unauthenticated_audit_limit: str = Field(
        "20/minute", description="Refused shared-data queries without a valid token audited one by one "
        "per caller address (the `limits` notation); past it: 429, counted in the next audited one."
    )

    read_rate_limit: str = Field(
        "120/minute", description="Reads of personal data over HTTP (cases, timelines, facts) each "
        "bearer token may make per window (the `limits` notation); past it: 429 with Retry-After."
    )

    inbox_retention_days: int = Field(
        30, ge=1, description="Days the inbox topics keep work items (they carry granted personal "
        "fields; a department takes its item in minutes, and a replay sends a lost one again)."
    )
    dead_letter_retention_days: int = Field(
        30, ge=1, description="Days the dead-letter topics keep a parked record's coordinates."
    )
    event_retention_days: dict[str, int] = Field(
        default_factory=dict, description="Days an event type's topic keeps its events, for the "
        "types the operator limits (JSON, e.g. {\"death_certified\": 3650}); the others are kept "
        "as long as the registration: with no time limit."
    )

    erasure_holds: dict[str, str | int] = Field(
        default_factory=dict, description="Legal holds that override an erasure request (`hub "
        "erase`), per event type: years after the event was recorded, \"permanent\", or 0 for no "
        "hold (JSON, e.g. {\"retirement_approved\": 30}); over the defaults of "
        "hub.domain.erasure.DEFAULT_HOLDS (marriage, birth and death registrations: permanent)."
    )

    @field_validator("erasure_holds")
    @classmethod
    def _holds(cls, value: dict[str, str | int]) -> dict[str, str | int]:
        from hub.domain.erasure import holds_from_settings

        holds_from_settings(value)  # raises naming the entry and the rule
        return value

    @field_validator("unauthenticated_audit_limit", "read_rate_limit")
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        try:
            amount = parse_rate_limit(value).amount
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '20/minute'") from None
        if amount < 1:
            raise ValueError(f"{value!r} allows nothing: at least 1 per window")
        return value

    @property
    def credentials_dir(self) -> Path:
        return self.state_dir / "credentials"

    @property
    def resolved_credentials_file(self) -> Path:
        return self.credentials_file or self.credentials_dir / f"{self.principal}.properties"

    def as_principal(self, principal: str) -> "HubSettings":
        """The same settings, authenticating as ``principal`` (its default credentials file)."""
        return self.model_copy(update={"principal": principal, "credentials_file": None})

    def for_service(self, principal: str) -> "HubSettings":
        """Settings of a hub service (router, auditor, gateway …): its own least-privileged
        principal, unless the environment named a principal or a credentials file itself."""
        if {"principal", "credentials_file"} & self.model_fields_set:
            return self
        return self.as_principal(principal)

    @property
    def resolved_tokens_file(self) -> Path:
        return self.tokens_file or self.state_dir / "tokens.json"

    @property
    def resolved_citizen_link_key_file(self) -> Path:
        return self.citizen_link_key_file or self.state_dir / "citizen-link.key"

    @property
    def resolved_pseudonym_keys_file(self) -> Path:
        return self.pseudonym_keys_file or self.state_dir / "pseudonym-keys.json"

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.state_dir / "master-key.json"

    @property
    def resolved_master_public_key_file(self) -> Path:
        return self.master_public_key_file or self.state_dir / "master-key.pub.json"
