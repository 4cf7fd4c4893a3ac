"""The citizen page on the in-memory case view: the subject's own items with references and
on-time verdicts, in Chinese or English, audited; any bad link refused alike."""

from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.api.tokens import TokenStore
from hub.config import HubSettings
from hub.memory import InMemoryAuditNotes
from hub.security.citizen_links import CitizenLinks
from tests.unit.api.test_case_routes import NOW, TOKENS, Hub


def _page(tmp_path):
    hub, notes = Hub(), InMemoryAuditNotes()
    links = CitizenLinks(tmp_path / "citizen.key")
    client = TestClient(create_app(HubSettings(), TokenStore(TOKENS, clock=lambda: NOW), lambda d: None,
                                   cases=hub.cases, audit_intake=notes, citizen_link=links.subject_of))
    return hub, notes, links, client


def test_a_citizen_sees_their_items_with_references_in_chinese_or_english(tmp_path):
    hub, notes, links, client = _page(tmp_path)
    token = links.token_for(hub.spouse_a)
    zh = client.get(f"/citizen/{token}")
    assert zh.status_code == 200 and 'lang="zh-CN"' in zh.text
    assert "HPF-778899" in zh.text and "not in this household" in zh.text
    assert "住房公积金" in zh.text or "公积金" in zh.text  # the department's Chinese name
    assert 'id="trips"><div class="value">1<' in zh.text
    assert "已办结" in zh.text and "不予办理" in zh.text  # statuses in words, not the enum
    en = client.get(f"/citizen/{token}", params={"lang": "en"})
    assert 'lang="en"' in en.text and "Visits you did not have to make" in en.text and "refused" in en.text
    [first, second] = notes.notes
    assert (first.role, first.route, first.case_ids) == ("citizen", "citizen_page", [hub.case_id])
    assert hub.spouse_a not in first.model_dump_json()  # the subject by pseudonym only


def test_a_bad_link_is_refused_without_saying_why_and_reads_nothing(tmp_path):
    hub, notes, links, client = _page(tmp_path)
    other = CitizenLinks(tmp_path / "someone-elses.key").token_for(hub.spouse_a)
    for token in ("nonsense", other, links.token_for(hub.spouse_a, ttl_s=-1)):
        answer = client.get(f"/citizen/{token}")
        assert answer.status_code == 403 and hub.spouse_a not in answer.text and "HPF" not in answer.text
    assert notes.notes == []


def test_the_same_view_as_a_printable_pdf_kept_by_no_cache(tmp_path):
    hub, notes, links, client = _page(tmp_path)
    token = links.token_for(hub.spouse_a)
    page = client.get(f"/citizen/{token}")
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert f"/citizen/{token}/pdf?lang=zh" in page.text
    pdf = client.get(f"/citizen/{token}/pdf", params={"lang": "en"})
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and b"STSong-Light" in pdf.content
    assert pdf.headers["cache-control"] == "no-store"
    assert [n.route for n in notes.notes] == ["citizen_page", "citizen_page"]  # the PDF is a read too
    assert client.get("/citizen/forged/pdf").status_code == 403
