"""``--short`` on every bench that has one (``make bench-all``): it makes the short sizes the
defaults, an option given explicitly still wins, and without it nothing changes."""

from __future__ import annotations

import argparse

import pytest

from bench import replay_bench, shredding_bench, verify_bench
from bench.harness import cli
from bench.ingest import cli as ingest_cli
from bench.publish import cli as publish_cli
from bench.rss import cli as rss_cli
from bench.security import cli as security_cli
from bench.timeline import cli as timeline_cli

BENCHES = {
    "publish": (publish_cli.parse_args, publish_cli.SHORT),
    "timeline": (timeline_cli.parse_args, timeline_cli.SHORT),
    "replay": (replay_bench.parse_args, replay_bench.SHORT),
    "verify": (verify_bench.parse_args, verify_bench.SHORT),
    "security": (security_cli.parse_args, security_cli.SHORT),
    "shredding": (shredding_bench.parse_args, shredding_bench.SHORT),
    "rss": (rss_cli.parse_args, rss_cli.SHORT),
    "ingest": (ingest_cli.parse_args, ingest_cli.SHORT),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    cli.option(parser, "--events", 5000, "events")
    cli.option(parser, "--rounds", 3, "rounds")
    cli.option(parser, "--warmup-s", 45.0, "seconds")
    return parser


def test_short_makes_its_sizes_the_defaults():
    args = cli.parse(_parser(), ["--short"], {"events": 100, "warmup_s": 5.0})
    assert (args.events, args.rounds, args.warmup_s, args.short) == (100, 3, 5.0, True)


def test_an_option_given_explicitly_wins_over_its_short_size():
    args = cli.parse(_parser(), ["--events", "7", "--short"], {"events": 100, "rounds": 1})
    assert (args.events, args.rounds) == (7, 1)


def test_without_short_the_defaults_stay():
    args = cli.parse(_parser(), [], {"events": 100})
    assert (args.events, args.rounds, args.short) == (5000, 3, False)


def test_no_short_sizes_no_short_option():
    assert not hasattr(cli.parse(_parser(), []), "short")
    with pytest.raises(SystemExit):
        cli.parse(_parser(), ["--short"])


def test_a_short_size_for_an_option_the_parser_lacks_is_a_mistake():
    with pytest.raises(ValueError, match="'event'"):
        cli.parse(_parser(), [], {"event": 100})


def test_the_help_shows_the_short_sizes():
    parser = _parser()
    cli.parse(parser, [], {"events": 100, "warmup_s": 5.0})
    assert "--events 100 --warmup-s 5" in parser.format_help().replace("\n", " ").replace("  ", " ")


@pytest.mark.parametrize("name", BENCHES)
def test_every_bench_takes_its_short_sizes(name):
    parse_args, short = BENCHES[name]
    full, quick = vars(parse_args(["--no-json"])), vars(parse_args(["--short", "--no-json"]))
    assert quick["short"] is True and full["short"] is False
    for option, size in short.items():
        assert quick[option] == size and type(quick[option]) is type(full[option])
        assert size < full[option], f"{name} --short {option} is not smaller than its default"


def test_short_rss_draws_its_curve_rows_from_the_short_run():
    assert rss_cli.parse_args(["--short"]).step == rss_cli.SHORT["events"] // 10
