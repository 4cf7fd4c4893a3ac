"""Registry subject names: the TopicNameStrategy, ``<topic>-value``, so any Confluent-compatible
client finds a hub topic's schema without hub code."""


def value_subject(topic: str) -> str:
    return f"{topic}-value"
