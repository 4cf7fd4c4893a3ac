"""How Clients authenticates: from the settings' principal's credentials file, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import HubSettings
from hub.errors import ConfigurationError
from hub.kafka.clients import Clients
from hub.security.credentials import KafkaCredentials, write_credentials
from hub.security.tls import TlsFiles, ensure_tls


def settings_with(tmp_path: Path, **values) -> HubSettings:
    return HubSettings(state_dir=tmp_path, bootstrap_servers="127.0.0.1:9092", **values)


def write(tmp_path: Path, name: str) -> None:
    write_credentials(tmp_path / "credentials" / f"{name}.properties", KafkaCredentials(
        "127.0.0.1:9092", "SASL_SSL", "SCRAM-SHA-512", name, f"pw-of-{name}", tmp_path / "ca.pem"))


def test_secured_connection_uses_the_principals_file(tmp_path):
    ensure_tls(TlsFiles(tmp_path / "tls"), ["127.0.0.1"])
    (tmp_path / "ca.pem").write_bytes((tmp_path / "tls" / "ca.pem").read_bytes())
    write(tmp_path, "router")
    clients = Clients(settings_with(tmp_path).as_principal("router"))
    config = clients.connection()
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("router", "pw-of-router")
    assert config["ssl_cafile"] == str(tmp_path / "ca.pem") and config["ssl_check_hostname"] is True
    assert clients.registry_config()["basic.auth.user.info"] == "router:pw-of-router"
    credentials = clients.faust_broker()["broker_credentials"]
    assert credentials.username == "router" and credentials.ssl_context is not None


def test_plaintext_sends_no_credentials(tmp_path):
    clients = Clients(settings_with(tmp_path, kafka_security="plaintext"))
    assert clients.connection() == {"bootstrap_servers": "127.0.0.1:9092", "reconnect_backoff_max_ms": 1_000}
    assert "basic.auth.user.info" not in clients.registry_config()
    assert "broker_credentials" not in clients.faust_broker()


def test_a_missing_credentials_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match=r"nobody\.properties does not exist"):
        Clients(settings_with(tmp_path).as_principal("nobody")).connection()


def test_services_take_their_own_principal_unless_one_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_PRINCIPAL", raising=False)
    default = settings_with(tmp_path)
    assert default.principal == "operator"
    assert default.for_service("router").principal == "router"
    named = settings_with(tmp_path, principal="operator")
    assert named.for_service("router").principal == "operator"
    by_file = settings_with(tmp_path, credentials_file=tmp_path / "x.properties")
    assert by_file.for_service("router").resolved_credentials_file == tmp_path / "x.properties"
    monkeypatch.setenv("HUB_PRINCIPAL", "health")
    assert HubSettings(state_dir=tmp_path).for_service("router").principal == "health"
    assert default.as_principal("tax").resolved_credentials_file == tmp_path / "credentials" / "tax.properties"
