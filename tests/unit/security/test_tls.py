"""The dev stack's local CA and broker certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import stat

from cryptography import x509

from hub.security.tls import LEAF_DAYS, TlsFiles, ensure_tls


def chain(files: TlsFiles) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(files.broker_keystore.read_bytes())


def test_broker_certificate_signed_by_the_ca_for_loopback_names(tmp_path):
    files = TlsFiles(tmp_path / "tls")
    assert ensure_tls(files, ["127.0.0.1"]) is True
    leaf, ca_in_chain = chain(files)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert ca_in_chain == ca
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    # The private keys are the owner's only; the keystore starts with its key (Kafka's PEM order).
    assert stat.S_IMODE(files.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.broker_keystore.stat().st_mode) == 0o600
    assert files.broker_keystore.read_text().startswith("-----BEGIN PRIVATE KEY-----")


def test_kept_while_current_renewed_for_a_new_host_or_near_expiry(tmp_path):
    files = TlsFiles(tmp_path / "tls")
    ensure_tls(files, ["127.0.0.1"])
    first = files.broker_keystore.read_bytes()
    ca = files.ca_cert.read_bytes()
    assert ensure_tls(files, ["127.0.0.1"]) is False and files.broker_keystore.read_bytes() == first
    assert ensure_tls(files, ["kafka.internal"]) is True
    assert "kafka.internal" in chain(files)[0].extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=LEAF_DAYS - 10)
    assert ensure_tls(files, ["kafka.internal"], now=later) is True
    assert files.ca_cert.read_bytes() == ca  # the CA clients trust stays the same
