"""Citizens' signed links: name one subject, unreadable, unalterable, and they expire."""

from hub.security.citizen_links import CitizenLinks

SUBJECT = "330106199001011234"


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def test_a_link_names_its_subject_until_it_expires(tmp_path):
    clock = Clock()
    links = CitizenLinks(tmp_path / "citizen-link.key", clock=clock)
    token = links.token_for(SUBJECT, ttl_s=900)
    assert SUBJECT not in token and links.subject_of(token) == SUBJECT
    assert (tmp_path / "citizen-link.key").stat().st_mode & 0o777 == 0o600
    assert CitizenLinks(tmp_path / "citizen-link.key", clock=clock).subject_of(token) == SUBJECT  # shared key
    clock.now += 901
    assert links.subject_of(token) is None


def test_forged_altered_and_foreign_links_read_the_same_none(tmp_path):
    links = CitizenLinks(tmp_path / "a.key")
    token = links.token_for(SUBJECT)
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    assert links.subject_of(altered) is None
    assert links.subject_of("not-a-token") is None
    assert CitizenLinks(tmp_path / "other.key").subject_of(token) is None
