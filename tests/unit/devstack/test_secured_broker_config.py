"""The secured dev broker's and registry's configuration, as rendered (no process started)."""

from __future__ import annotations

from pathlib import Path

from hub.devstack.apicurio import ADMIN_ROLE, READ_ROLE, password_digest, render_accounts
from hub.devstack.kafka import BrokerSecurity, render_server_properties
from hub.security.credentials import parse_properties

SECURITY = BrokerSecurity("hub-broker", "bpw", "hub-controller", "cpw", Path("/s/tls/broker.pem"),
                          Path("/s/tls/ca.pem"), ("hub-broker", "hub-controller", "operator"))


def rendered(security=SECURITY) -> dict[str, str]:
    return parse_properties(render_server_properties("localhost", 9092, Path("/s/data"), security))


def test_the_only_client_listener_is_sasl_ssl_and_the_controller_authenticates():
    props = rendered()
    assert props["listeners"] == "SASL_SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
    assert "PLAINTEXT://" not in props["listeners"] + props["advertised.listeners"]
    assert props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["sasl.mechanism.controller.protocol"] == "PLAIN"
    assert props["ssl.keystore.type"] == props["ssl.truststore.type"] == "PEM"


def test_acls_refuse_what_they_do_not_allow_and_anonymous_is_no_super_user():
    props = rendered()
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")
    assert props["super.users"] == "User:hub-broker;User:hub-controller;User:operator"
    assert "ANONYMOUS" not in props["super.users"]


def test_plaintext_broker_when_not_secured():
    props = rendered(None)
    assert props["listeners"].startswith("PLAINTEXT://") and "authorizer.class.name" not in props


def test_registry_accounts_hold_digests_and_roles_never_passwords():
    text = render_accounts({"operator": ("op-pw", ADMIN_ROLE), "health": ("h-pw", READ_ROLE)})
    assert "op-pw" not in text and "h-pw" not in text
    props = parse_properties(text)
    assert props["quarkus.security.users.embedded.users.operator"] == password_digest("operator", "op-pw")
    assert props["quarkus.security.users.embedded.roles.operator"] == "sr-admin"
    assert props["quarkus.security.users.embedded.roles.health"] == "sr-readonly"
