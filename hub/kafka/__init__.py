"""Everything that talks to Kafka: clients, topic names and administration, log reading, dead letters."""
