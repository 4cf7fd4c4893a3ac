"""A local certificate authority and the broker's certificate, made with ``cryptography``.

The development stack encrypts its client listener with a certificate signed by a CA made on
this machine (``<state_dir>/tls``). Clients trust that CA only (``ssl.ca.location``), so a
client talking to anything else than our broker fails the handshake. A production cluster brings
its own CA: point ``ssl.ca.location`` in each principal's properties at it.

Kafka reads PEM directly: ``broker.pem`` holds the private key (unencrypted PKCS#8), the leaf
certificate and the CA, in that order, as ``ssl.keystore.type=PEM`` expects.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.security.credentials import write_private

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest validity browsers and most TLS stacks still accept for a leaf
RENEW_BEFORE_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    root: Path  # <state_dir>/tls

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca-key.pem"

    @property
    def broker_keystore(self) -> Path:
        return self.root / "broker.pem"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Once-Only Hub dev stack"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _make_ca(now: dt.datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Once-Only Hub local CA")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _sans(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(["localhost", "127.0.0.1", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _make_leaf(ca_key, ca_cert: x509.Certificate, hosts: list[str], now: dt.datetime):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("kafka broker"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=LEAF_DAYS))
            .add_extension(x509.SubjectAlternativeName(_sans(hosts)), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def _leaf_is_current(path: Path, hosts: list[str], now: dt.datetime) -> bool:
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return False
    leaf = certs[0]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    wanted = set(_sans(hosts))
    return (wanted <= set(sans)
            and leaf.not_valid_after_utc - now > dt.timedelta(days=RENEW_BEFORE_DAYS))


def ensure_tls(files: TlsFiles, hosts: list[str], now: dt.datetime | None = None) -> bool:
    """Make the CA (once) and a broker certificate for ``hosts`` (again when it is missing,
    names another host or nears its end). Returns True if anything was written."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if files.ca_cert.exists() and files.ca_key.exists():
        ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        if _leaf_is_current(files.broker_keystore, hosts, now):
            return False
    else:
        ca_key, ca_cert = _make_ca(now)
        write_private(files.ca_key, _pem_key(ca_key).decode())
        files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    key, leaf = _make_leaf(ca_key, ca_cert, hosts, now)
    # Line breaks kept: Kafka reads every certificate of the chain only if each stays PEM-framed.
    write_private(files.broker_keystore, (_pem_key(key) + leaf.public_bytes(serialization.Encoding.PEM)
                                          + ca_cert.public_bytes(serialization.Encoding.PEM)).decode())
    return True
