"""The operator console and the citizen page in a real browser (Playwright driving Debian's
``chromium``; no browser is downloaded) on the real stack, after the demo flow: ``make demo``'s
own ``run_demo`` on a fresh prefix, then ``hub serve`` as a child process, as an operator runs it.

Screenshots go to ``test-output/screenshots/`` (not tracked); the README's come from there.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.ingest.server import IngestServer
from hub.api.tokens import Role, issue
from hub.demo.run import run_demo
from hub.domain.departments import Department
from hub.domain.outcomes import Outcome
from hub.domain.dead_letters import DeadLetter
from hub.kafka.clients import Clients
from hub.kafka.topic_names import TopicNames
from hub.security.citizen_links import CitizenLinks
from hub.wire.serde import model_deserializer, model_serializer
from tests.integration.flow_helpers import fresh_settings, read_all, routing_decisions

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[3] / "test-output" / "screenshots"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: "
                                "`make test` installs it (apt-get install chromium)")


@pytest.fixture(scope="module")
def demo(endpoints, tmp_path_factory):
    """The demo flow on a fresh prefix, one parked event, and hub serve over it."""
    own = tmp_path_factory.mktemp("state")  # this run's tokens and link key, not the dev stack's
    settings = fresh_settings(endpoints).model_copy(update={
        "tokens_file": own / "tokens.json", "citizen_link_key_file": own / "citizen-link.key"})
    lines: list[str] = []
    receipts = run_demo(settings, echo=lines.append, seed=20261204)
    letter = _park_an_event(settings)
    server = IngestServer(settings, tmp_path_factory.mktemp("serve"))
    operator, _ = issue(server.tokens_file, Role.OPERATOR, None, "browser test")
    link = re.search(r"/citizen/([A-Za-z0-9_=-]+)", "\n".join(lines)).group(1)
    with server:
        yield {"settings": settings, "receipts": receipts, "lines": lines, "server": server,
               "operator": operator, "link": link, "letter": letter}


def _park_an_event(settings) -> DeadLetter:
    """An unreadable record on an event topic, parked as the router parks one (coordinates only)."""
    names = TopicNames(settings.topic_prefix)
    topic = names.all_events()[0]
    with Clients(settings) as clients:
        meta = clients.shared_producer().send(topic, key=b"k", value=b"not avro").get(timeout=10)
        letter = DeadLetter.of(stage="router", error=ValueError("not in the Confluent wire format"),
                               topic=topic, partition=meta.partition, offset=meta.offset,
                               parked_at=datetime.now(timezone.utc))
        clients.shared_producer().send(names.dead_letters, key=letter.dead_letter_id.encode(),
                                       value=model_serializer(clients.registry, "DeadLetter")(
                                           letter, names.dead_letters)).get(timeout=10)
    return letter


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _signed_in(browser, demo):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{demo['server'].base_url}/console")
    assert page.url.endswith("/console/login")
    page.fill("#token", demo["operator"])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/console$"))
    return page


def test_the_console_shows_the_demos_cases_the_on_time_rate_and_the_yoga_associations_tax_reference(browser, demo):
    page = _signed_in(browser, demo)
    trips = int(page.inner_text("#trips-saved-all .value"))
    assert trips > 0
    assert page.inner_text("#on-time-rate .value").endswith("%")
    assert "TAX" in page.inner_text("#departments")
    _shot(page, "console-today")
    yoga = demo["receipts"][0]  # the demo publishes the yoga association first (seed 003)
    page.goto(f"{demo['server'].base_url}/console/cases?q={yoga.case_id}")
    page.click(f"text={yoga.case_id}")
    references = page.locator("#items td.reference").all_inner_texts()
    assert any(re.fullmatch(r"税登-\d{4}-\d{6}", r.strip()) for r in references), references
    _shot(page, "console-case")
    page.close()


def test_a_redrive_from_the_console_moves_the_dead_letter_back(browser, demo):
    letter, settings = demo["letter"], demo["settings"]
    page = _signed_in(browser, demo)
    page.goto(f"{demo['server'].base_url}/console/dead-letters")
    page.check(f"input[value='{letter.dead_letter_id}']")
    page.click("#redrive")
    assert "Sent back to their source topics: 1" in page.inner_text("#redriven")
    with Clients(settings) as clients, clients.reading() as consumer:
        from kafka import TopicPartition

        tp = TopicPartition(letter.source_topic, letter.source_partition)
        consumer.assign([tp])
        consumer.seek(tp, letter.source_offset + 1)
        again = [r for batch in consumer.poll(timeout_ms=5000).values() for r in batch]
    assert [r.value for r in again] == [b"not avro"]  # the parked record, back on its topic
    assert dict(again[0].headers)["oncehub.redriven_from"] == letter.dead_letter_id.encode()
    page.close()


def test_the_citizen_page_shows_the_subjects_items_and_refuses_another_link(browser, demo):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{demo['server'].base_url}/citizen/{demo['link']}")
    assert int(page.inner_text("#trips .value")) > 0
    assert "公积金" in page.inner_text("#items")  # the provident fund's items for the married couple
    assert page.locator("#received tr").count() > 1
    _shot(page, "citizen-page")
    page.click("#language")
    assert "Visits you did not have to make" in page.inner_text("#trips")
    foreign = CitizenLinks(demo["settings"].citizen_link_key_file.with_name("other.key")).token_for("330106199001011234")
    refused = page.goto(f"{demo['server'].base_url}/citizen/{foreign}")
    assert refused.status == 403 and "已过期" in page.inner_text("body")  # the same answer for any bad link
    page.close()


def test_metrics_scraped_after_the_demo_equal_what_it_did(demo):
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{demo['server'].base_url}/metrics", timeout=30,
                     headers={"Authorization": f"Bearer {demo['operator']}"}).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    receipts = demo["receipts"]
    assert len(receipts) == 12  # six seed types, through the SDK and over HTTP
    assert samples[("oncehub_cases", (("status", "COMPLETED"),))] == len(receipts)
    trips = {dict(labels)["department"]: v for (name, labels), v in samples.items()
             if name == "oncehub_items_completed_in_back_office_total"}
    # What the agencies reported on their outcome topics for the items the router routed (an
    # erasure's items go to the inboxes from `hub erase`, outside any case): each COMPLETED once.
    settings, names = demo["settings"], TopicNames(demo["settings"].topic_prefix)
    routed = {item.item_id for decision in routing_decisions(settings) for item in decision.items}
    with Clients(settings) as clients:
        decode = model_deserializer(clients.registry, "Outcome", Outcome)
        completed = Counter()
        for department in Department:
            topic = names.outcomes_of(department)
            items = {o.item_id for o in (decode(r.value, topic) for r in read_all(settings, topic))
                     if o.status.value == "COMPLETED" and o.item_id in routed}
            if items:
                completed[department.value] = len(items)
    assert trips == dict(completed) and sum(completed.values()) > len(receipts)
    assert samples[("oncehub_dead_letters_parked", (("topic", f"{demo['settings'].topic_prefix}.dlq"),))] >= 1
