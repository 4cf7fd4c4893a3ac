"""Principals' client-properties files: the form every Kafka client reads, kept private."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hub.errors import ConfigurationError
from hub.security.credentials import (KafkaCredentials, parse_properties, read_credentials,
                                      write_credentials)
from hub.security.principals import Service, all_principals, department_of, department_principal
from hub.domain.departments import Department


def creds(password: str = "s3cret-Pa55") -> KafkaCredentials:
    return KafkaCredentials("127.0.0.1:9092", "SASL_SSL", "SCRAM-SHA-512", "health", password,
                            Path("/state/tls/ca.pem"))


def test_written_file_reads_back_and_is_private(tmp_path):
    path = tmp_path / "credentials" / "health.properties"
    write_credentials(path, creds())
    assert read_credentials(path) == creds()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    props = parse_properties(path.read_text())
    # The keys librdkafka, kcat and confluent-kafka read, and nothing they would refuse.
    assert set(props) == {"bootstrap.servers", "security.protocol", "sasl.mechanism",
                          "sasl.username", "sasl.password", "ssl.ca.location"}


def test_password_never_in_repr():
    assert "s3cret" not in repr(creds()) and "***" in repr(creds())


def test_missing_file_names_the_file_and_the_way_out(tmp_path):
    with pytest.raises(ConfigurationError, match=r"nobody\.properties does not exist.*HUB_PRINCIPAL"):
        read_credentials(tmp_path / "nobody.properties")


def test_missing_key_is_named(tmp_path):
    path = tmp_path / "x.properties"
    path.write_text("bootstrap.servers=a:1\nsecurity.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n"
                    "sasl.username=x\n")
    with pytest.raises(ConfigurationError, match="lacks sasl.password"):
        read_credentials(path)


def test_properties_comments_and_blank_lines():
    assert parse_properties("# c\n! c\n\na = b=c\n") == {"a": "b=c"}
    with pytest.raises(ValueError, match="not key=value"):
        parse_properties("justakey\n")


def test_principal_names_round_trip():
    for department in Department:
        assert department_of(department_principal(department)) is department
    assert department_principal(Department.CIVIL_AFFAIRS) == "civil-affairs"
    assert department_of(Service.ROUTER.value) is None
    assert len(set(all_principals())) == len(Department) + len(Service)
