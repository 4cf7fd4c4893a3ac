"""Reading raw records back for assertions, with no hub code on the decoding path."""

from __future__ import annotations

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kafka import KafkaConsumer, TopicPartition

from hub.kafka.clients import Clients
from hub.config import HubSettings


def read_record(settings: HubSettings, topic: str, partition: int, offset: int):
    """The raw Kafka record at ``topic[partition]@offset``."""
    consumer = KafkaConsumer(**Clients(settings).connection(), enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        for _ in range(40):
            for rec in consumer.poll(timeout_ms=500).get(tp, []):
                if rec.offset == offset:
                    return rec
        raise AssertionError(f"no record at {topic}[{partition}]@{offset}")
    finally:
        consumer.close()


def third_party_decode(settings: HubSettings, topic: str, value: bytes) -> dict:
    """Decode with confluent-kafka's AvroDeserializer and the writer's registered schema only."""
    client = SchemaRegistryClient({"url": settings.schema_registry_url, "timeout": 10})
    return AvroDeserializer(client)(value, SerializationContext(topic, MessageField.VALUE))
