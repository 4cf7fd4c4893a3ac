"""Endpoints of a Kafka broker and a schema registry for the test-suite.

Where a Docker engine answers, throwaway containers are started with testcontainers and stopped
by ``Endpoints.stop``. Otherwise the local development stack is brought up exactly as
``hub dev up`` does and its configured endpoints are returned; ``stop`` then leaves it running,
since the stack is shared (``make test`` starts it once, other shells use it too).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from hub.config import HubSettings
from hub.devstack import APICURIO_VERSION, stack
from hub.devstack.health import registry_health

# testcontainers' KafkaContainer drives Confluent's image (its start script uses
# /etc/confluent/docker/*); Confluent Platform 7.9 is Apache Kafka 3.9.
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.1"
REGISTRY_IMAGE = f"apicurio/apicurio-registry:{APICURIO_VERSION}"
REGISTRY_PATH = "/apis/ccompat/v7"


@dataclass(frozen=True)
class Endpoints:
    bootstrap_servers: str
    schema_registry_url: str
    stop: Callable[[], None]
    # Throwaway containers are plaintext; the local stack is secured (as its settings say).
    kafka_security: str = "plaintext"


def docker_available() -> bool:
    """True if the docker SDK reaches an engine (a client binary alone is not enough)."""
    try:
        import docker

        client = docker.from_env()
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no SDK, no socket, engine down: all mean "no Docker here"
        return False


def _containers(timeout: float) -> Endpoints:
    try:
        from testcontainers.community.kafka import KafkaContainer  # testcontainers >= 4.14
    except ImportError:
        from testcontainers.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer

    kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
    registry = DockerContainer(REGISTRY_IMAGE).with_exposed_ports(8080)
    kafka.start()
    try:
        registry.start()
        host, port = registry.get_container_host_ip(), registry.get_exposed_port(8080)
        url = f"http://{host}:{port}{REGISTRY_PATH}"
        deadline = time.monotonic() + timeout
        while not (health := registry_health(url)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"registry container did not answer at {url}: {health.detail}")
            time.sleep(1)
    except BaseException:
        registry.stop()
        kafka.stop()
        raise

    def stop() -> None:
        registry.stop()
        kafka.stop()

    return Endpoints(kafka.get_bootstrap_server(), url, stop)


def provision_stack(
    settings: HubSettings | None = None, *, timeout: float = stack.START_TIMEOUT_S
) -> Endpoints:
    """A running broker and registry: containers if Docker answers, else the local dev stack."""
    if docker_available():
        return _containers(timeout)
    settings = settings or HubSettings()
    stack.up(settings, timeout=timeout, say=lambda m: print(m, file=sys.stderr))
    return Endpoints(settings.bootstrap_servers, settings.schema_registry_url, stop=lambda: None,
                     kafka_security=settings.kafka_security)
