"""Every client from one place: built lazily, shared where meant to be, all closed together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames


def test_nothing_is_built_until_asked(settings):
    clients = Clients(settings)
    assert list(clients._built) == [] and clients._shared_producer is None  # noqa: SLF001


def test_the_shared_producer_is_one_producer_for_every_thread(settings):
    with Clients(settings) as clients, ThreadPoolExecutor(4) as pool:
        producers = list(pool.map(lambda _: clients.shared_producer(), range(8)))
        assert len({id(p) for p in producers}) == 1
        outcomes = TopicNames(settings.topic_prefix).all_outcomes()[0]
        assert clients.shared_producer().partitions_for(outcomes)  # it really reaches the cluster


def test_close_closes_every_client_still_open(settings):
    clients = Clients(settings)
    consumer, producer = clients.consumer(), clients.producer()
    admin, shared = clients.admin(), clients.shared_producer()
    assert consumer.topics()  # really connected
    clients.close()
    assert consumer._closed and producer._closed and shared._closed and admin._closed  # noqa: SLF001
    assert clients.shared_producer() is not shared  # a new one after close
    clients.close()


def test_the_faust_broker_and_the_clients_name_the_same_cluster(settings):
    clients = Clients(settings)
    assert clients.faust_broker()["broker"] == [
        f"kafka://{s.strip()}" for s in settings.bootstrap_servers.split(",")]
    assert clients.connection()["bootstrap_servers"] == settings.bootstrap_servers
    assert clients.registry_config()["url"] == settings.schema_registry_url
