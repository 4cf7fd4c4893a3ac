"""The development stack: real Apache Kafka and Apicurio Registry, started without Docker.

``hub dev up | down | status`` (see :mod:`hub.cli.dev`) fetches Kafka's jars and Apicurio
Registry's ``all`` distribution from Maven Central with Maven, caches them under
``HubSettings.cache_dir``, and runs both as background JVMs bound to loopback, with their data,
pid files and logs under ``HubSettings.state_dir``:

    <state_dir>/kafka/            server.properties, log4j2.properties, data/ (one node)
    <state_dir>/kafka/node-N/     server.properties, data/ (each node of `--brokers 3`)
    <state_dir>/registry/         h2/ (the durable schema store), work/
    <state_dir>/run/              kafka.pid (kafka-N.pid), registry.pid
    <state_dir>/logs/             kafka.log (kafka-N.log), registry.log
    <state_dir>/dev-stack.env     the HUB_* settings hub commands need for this stack

:func:`hub.devstack.provision.provision_stack` gives the test-suite endpoints, from Docker
containers when a Docker engine answers and from this stack otherwise.
"""

from __future__ import annotations

KAFKA_VERSION = "4.4.0"
SCALA_BINARY_VERSION = "2.13"
APICURIO_VERSION = "3.3.3"
# Apicurio Registry 3.3.x is compiled with maven.compiler.release 21.
APICURIO_MIN_JAVA = 21
# Kafka 4.x brokers need Java 17 (3.9 ran on 11); the stack prefers the installed 17 (java.py).
KAFKA_MIN_JAVA = 17
KAFKA_PREFERRED_JAVA = 17
