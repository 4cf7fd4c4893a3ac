"""Erasing a person from the hub (``hub erase``): the orchestration over Kafka and the views;
the rules are :mod:`hub.domain.erasure`."""
