"""The development stack: real Apache Kafka and Apicurio Registry, started without Docker.

``hub dev up | down | status`` (see :mod:`hub.cli.dev`) fetches Kafka's jars and Apicurio
Registry's ``all`` distribution from Maven Central with Maven, caches them under
``HubSettings.cache_dir``, and runs both as background JVMs bound to loopback, with their data,
pid files and logs under ``HubSettings.state_dir``:

    <state_dir>/kafka/            server.properties, log4j.properties, data/
    <state_dir>/registry/         h2/ (the durable schema store), work/
    <state_dir>/run/              kafka.pid, registry.pid
    <state_dir>/logs/             kafka.log, registry.log

:func:`hub.devstack.provision.provision_stack` gives the test-suite endpoints, from Docker
containers when a Docker engine answers and from this stack otherwise.
"""

from __future__ import annotations

KAFKA_VERSION = "3.9.2"
SCALA_BINARY_VERSION = "2.13"
APICURIO_VERSION = "3.3.3"
# Apicurio Registry 3.3.x is compiled with maven.compiler.release 21.
APICURIO_MIN_JAVA = 21
# Kafka 3.9 runs on Java 11 and newer; the stack prefers the installed 17 (see java.py).
KAFKA_MIN_JAVA = 11
KAFKA_PREFERRED_JAVA = 17
