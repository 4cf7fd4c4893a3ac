"""How events look on the wire: Avro schemas from ``schemas/``, records, Confluent framing."""
