"""The command line every benchmark shares: its parser, and ``run_main`` around its run.

A benchmark's ``main`` is its own options on :func:`parser`, then :func:`run_main` with its
``run(options, console) -> results`` and ``render(results) -> str``: the report goes to stdout
(Markdown, to paste into BENCHMARKS.md), progress and notices to stderr, the results to a JSON
file under ``bench/results/``.

With ``short`` sizes, :func:`parse` adds ``--short``: the run ``make bench-all`` makes of it.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from bench.harness.results import default_json_path, write_json

O = TypeVar("O")
Results = dict[str, Any]


def parser(name: str, doc: str) -> argparse.ArgumentParser:
    """``python -m bench.<name>_bench``, described by the first paragraph of ``doc``."""
    return argparse.ArgumentParser(prog=f"python -m bench.{name}_bench",
                                   description=doc.split("\n\n")[0])


def option(parser: argparse.ArgumentParser, flag: str, default: int | float, help: str) -> None:
    """A number option whose help ends with its default; its type is the default's."""
    shown = f"{default:,}" if isinstance(default, int) else f"{default:g}"
    parser.add_argument(flag, type=type(default), default=default, help=f"{help} (default {shown})")


def add_seed(parser: argparse.ArgumentParser, default: int) -> None:
    parser.add_argument("--seed", type=int, default=default,
                        help=f"seed of the synthetic inputs (default {default})")


def add_keep(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--keep", action="store_true", help=f"keep this run's {what}")


def add_json(parser: argparse.ArgumentParser, name: str) -> None:
    parser.add_argument("--json", dest="json_path", type=Path, default=None,
                        help=f"where to write JSON results (default bench/results/{name}-<time>.json)")
    parser.add_argument("--no-json", action="store_true", help="write no JSON results")


def json_path(args: argparse.Namespace, name: str) -> Path | None:
    """Where ``--json``/``--no-json`` say the results go (``None``: nowhere)."""
    return None if args.no_json else (args.json_path or default_json_path(name))


def shown(sizes: Mapping[str, Any]) -> str:
    """``{"events": 500, "rounds": 2}`` as ``--events 500 --rounds 2``."""
    return " ".join(f"--{k.replace('_', '-')} {v:g}" if isinstance(v, float) else f"--{k.replace('_', '-')} {v}"
                    for k, v in sizes.items())


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
          short: Mapping[str, float] | None = None) -> argparse.Namespace:
    """The options; with ``short`` sizes, also ``--short``, which makes them the defaults.

    An option given explicitly still wins over its short size (``--short --events 100``).
    """
    if short:
        parser.add_argument("--short", action="store_true",
                            help=f"the short run of `make bench-all` (every figure, from small "
                                 f"samples): {shown(short)}; an option given as well wins")
    args = parser.parse_args(argv)
    if short:
        unknown = sorted(set(short) - set(vars(args)))
        if unknown:
            raise ValueError(f"short sizes for options this parser lacks: {unknown}")
        if args.short:
            parser.set_defaults(**short)
            args = parser.parse_args(argv)
    return args


def has_problems(results: Mapping[str, Any]) -> bool:
    return bool(results.get("problems"))


def run_main(options: O, run: Callable[[O, Console], Results], render: Callable[[Results], str],
             json_to: Path | None, *, quiet_kafka: bool = True,
             failed: Callable[[Results], bool] = has_problems) -> int:
    """Run, print the report, write the JSON file; exit code 1 if ``failed(results)``."""
    logging.basicConfig(level=logging.WARNING)
    if quiet_kafka:  # kafka-python logs every metadata retry; the benchmarks check outcomes
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    console = Console(stderr=True)
    results = run(options, console)
    print(render(results))
    if json_to:
        write_json(results, json_to)
        console.print(f"results: {json_to}")
    return 1 if failed(results) else 0
