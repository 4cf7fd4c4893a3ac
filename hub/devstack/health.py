"""Is Kafka / the registry answering at an address? Real protocol requests, not port probes.

Kafka counts as healthy when a metadata request (kafka-python's ``describe_cluster``) returns at
least one broker; the registry when ``GET <registry_url>/subjects`` returns 200. A plain TCP probe
comes first so that a stopped server is reported at once, without client retries and log noise.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:  # the clients' libraries load only when Kafka is probed
    from hub.kafka.clients import Clients


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str

    def __bool__(self) -> bool:
        return self.ok


def first_bootstrap(bootstrap_servers: str) -> tuple[str, int]:
    """Host and port of the first ``host:port`` in a comma-separated bootstrap list."""
    first = bootstrap_servers.split(",")[0].strip()
    first = first.split("://", 1)[-1]  # tolerate a "PLAINTEXT://" prefix
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"bootstrap server {first!r} is not host:port")
    return host.strip("[]"), int(port)


def registry_address(registry_url: str) -> tuple[str, int]:
    """Host and port a registry URL points at (default ports 80/443)."""
    parts = urlsplit(registry_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"schema registry URL {registry_url!r} is not an http(s) URL")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs: the only addresses the dev stack serves."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _quiet(logger_name: str):
    """Silence a library logger for the duration of a probe (refusals are expected there)."""
    logger = logging.getLogger(logger_name)
    old = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(old)


def kafka_health(clients: Clients, timeout: float = 5.0, node_id: int | None = None) -> Health:
    """Ask the cluster for its metadata (with the hub's own client configuration). With
    ``node_id``, the probe asks that node (the first bootstrap address) and it is healthy only
    once the cluster's metadata lists it as a broker: a node of a quorum may accept
    connections before it has registered."""
    host, port = first_bootstrap(clients.settings.bootstrap_servers)
    if not port_open(host, port, timeout=min(timeout, 2.0)):
        return Health(False, f"nothing listens on {host}:{port}")
    ms = int(timeout * 1000)
    admin = None
    with _quiet("kafka"):
        try:
            admin = clients.admin("hub-dev-health", request_timeout_ms=ms, bootstrap_timeout_ms=ms)
            cluster = admin.describe_cluster()
        except Exception as exc:  # any client failure means "not healthy", with the reason
            return Health(False, f"metadata request failed: {type(exc).__name__}: {exc}")
        finally:
            if admin is not None:
                admin.close()
    brokers = cluster.get("brokers") or []
    if not brokers:
        return Health(False, "metadata request answered with no brokers")
    if node_id is not None:
        ids = sorted(b["broker_id"] for b in brokers)
        unfenced = [b["broker_id"] for b in brokers if not b.get("is_fenced")]
        if node_id not in unfenced:
            return Health(False, f"node {node_id} not yet an unfenced broker (brokers {ids}, "
                                 f"unfenced {sorted(unfenced)})")
        return Health(True, f"node {node_id} of cluster {cluster.get('cluster_id')}, "
                            f"{len(brokers)} broker(s) {ids}")
    return Health(True, f"cluster {cluster.get('cluster_id')}, {len(brokers)} broker(s)")


def registry_health(registry_url: str, timeout: float = 3.0, attempts: int = 2) -> Health:
    """GET <registry_url>/subjects; healthy on 200.

    Apicurio 3.3.3 now and then accepts a request and never answers it (seen under load, about
    one request in a few thousand), so a timed-out probe is retried once on a new connection
    before the registry is called unhealthy.
    """
    url = registry_url.rstrip("/") + "/subjects"
    # A loopback registry must never be reached through an HTTP(S)_PROXY from the environment.
    direct = is_loopback(registry_address(registry_url)[0])
    for attempt in range(attempts):
        try:
            resp = httpx.get(url, timeout=timeout, trust_env=not direct)
            break
        except httpx.TimeoutException as exc:
            if attempt == attempts - 1:
                return Health(False, f"GET {url} timed out ({attempts} x {timeout:g}s): {exc}")
        except httpx.HTTPError as exc:
            return Health(False, f"GET {url} failed: {type(exc).__name__}: {exc}")
    if resp.status_code != 200:
        return Health(False, f"GET {url} returned {resp.status_code}")
    try:
        count = len(resp.json())
    except ValueError:
        return Health(False, f"GET {url} returned 200 but not JSON")
    return Health(True, f"{count} subject(s)")
