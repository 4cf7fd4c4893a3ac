"""The routing rules file, reviewed like code: ``hub/rules/routing.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml

from hub.domain.rules import RuleBook, RuleError, build_rulebook

RULES_FILE = Path(__file__).resolve().parent / "routing.yaml"


def load_rules(path: Path = RULES_FILE) -> RuleBook:
    """Read and validate the rules file; :class:`RuleError` says which rule is wrong and why."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError([f"{path}: {exc}"]) from None
    return build_rulebook(data)
