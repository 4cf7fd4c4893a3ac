"""The master key pair: made once, kept 0600, its public half alone given to publishers, and
what one process made is what the next one reads."""

from __future__ import annotations

import json
import stat

import pytest

from hub.config import HubSettings
from hub.errors import ConfigurationError
from hub.security.master_key import master_key, master_public_key
from hub.security.shredding import mint, unwrap, wrap_for_hub


@pytest.fixture
def settings(tmp_path):
    return HubSettings(state_dir=tmp_path)


def test_made_on_first_use_private_file_owner_only(settings):
    key = master_key(settings)
    assert key.private_key is not None
    assert stat.S_IMODE(settings.resolved_master_key_file.stat().st_mode) == 0o600
    public = master_public_key(settings)
    assert (public.key_id, public.public_key, public.private_key) == (key.key_id, key.public_key, None)
    assert "private_key" not in json.loads(settings.resolved_master_public_key_file.read_text())


def test_what_a_publisher_encrypts_the_hub_opens(settings):
    public, person = master_public_key(settings), mint()
    wrapped = wrap_for_hub(public.public_key, "330106199001020011", person)
    assert unwrap(master_key(settings).private_key, person.key_id, wrapped)[1] == person.private_key


def test_the_same_pair_on_every_read(settings):
    assert master_key(settings) == master_key(settings)


def test_missing_or_malformed_is_a_configuration_error(settings):
    with pytest.raises(ConfigurationError, match="not found"):
        master_key(settings, create=False)
    settings.resolved_master_key_file.write_text("{}")
    with pytest.raises(ConfigurationError, match="malformed"):
        master_key(settings)


def test_a_public_file_is_derived_where_only_the_private_one_was_given(settings):
    key = master_key(settings)
    settings.resolved_master_public_key_file.unlink()
    assert master_public_key(settings).public_key == key.public_key


def test_first_use_from_many_threads_at_once_gives_everyone_the_same_whole_key(tmp_path):
    import threading

    for attempt in range(15):
        settings = HubSettings(state_dir=tmp_path / f"fresh-{attempt}")
        start, got, failed = threading.Barrier(6), [], []

        def first_use(private: bool) -> None:
            start.wait()
            try:
                key = master_key(settings) if private else master_public_key(settings)
                got.append((key.key_id, key.public_key))
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                failed.append(exc)

        threads = [threading.Thread(target=first_use, args=(n % 2 == 0,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert failed == [] and len(set(got)) == 1 and len(got) == 6
        assert not [p for p in settings.resolved_master_key_file.parent.iterdir() if p.suffix == ".tmp"]
