"""Unit tests touch no shared state: the audit's pseudonym keys live in a file of the session's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_pseudonym_keys(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HUB_PSEUDONYM_KEYS_FILE",
                       str(tmp_path_factory.getbasetemp() / "pseudonym-keys.json"))
