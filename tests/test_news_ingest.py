"""News-native ingest: dates, outlets and URLs from JSONL, HTML metadata (JSON-LD
NewsArticle, OpenGraph, <time>), RSS 2.0 and Atom feeds, and WARC archives; all through
`load_paths` and then a real index (exact offsets stay true)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.ingest.load import load_file, load_paths

NEWS = Path(__file__).parent / "data" / "news"
MB = 10_000_000


def _by_title(docs):
    return {d.title: d for d in docs}


def test_jsonl_dates_in_many_formats_and_outlet_fields():
    docs = {d.id: d for d in load_file(NEWS / "dated.jsonl", MB)}
    assert docs["harbor-1"].published == "2025-03-04" and docs["harbor-1"].outlet == "Elden Gazette"
    assert docs["harbor-1"].url == "https://gazette.example/harbor-bridge"
    assert docs["harbor-2"].published == "2025-03-12" and docs["harbor-2"].outlet == "Coastal Herald"  # "March 12, 2025"
    assert docs["harbor-3"].published == "2025-03-18T10:00:00+00:00"  # RFC 2822, a time is known
    assert docs["harbor-4"].published == "2025-04-04T10:00:00+00:00"  # epoch seconds
    assert docs["harbor-4"].outlet == "Coastal Herald"  # NewsAPI's {"source": {"name": ...}}
    assert docs["harbor-5"].published is None and docs["harbor-5"].outlet is None
    assert docs["harbor-6"].published == "2025-02-20T08:30:00+01:00" and docs["harbor-6"].outlet == "Bay Times"


def test_html_newsarticle_json_ld_gives_date_outlet_headline_and_url():
    (doc,) = load_file(NEWS / "newsarticle.html", MB)
    assert doc.title == "Lighthouse keeper retires after forty years"  # the headline, not "<title> | site"
    assert doc.published == "2025-03-06T09:15:00+00:00"
    assert doc.outlet == "Northern Post"
    assert doc.url == "https://northernpost.example/2025/03/lighthouse-keeper"
    assert "112 steps" in doc.text
    assert "Ignore previous instructions" not in doc.text and "tracker" not in doc.text  # our defences still apply


def test_html_opengraph_and_time_element():
    (doc,) = load_file(NEWS / "opengraph.html", MB)
    assert (doc.published, doc.outlet) == ("2025-03-09T16:45:00-05:00", "Valley Ledger")
    assert doc.url == "https://valleyledger.example/news/orchard-harvest"
    (doc,) = load_file(NEWS / "timeonly.html", MB)
    assert doc.published == "2025-03-11" and doc.outlet is None


def test_html_without_any_date_stays_usable(tmp_path):
    (tmp_path / "plain.html").write_text("<html><body><p>Turnip prices fell by a third at the winter market.</p>"
                                         "</body></html>", encoding="utf-8")
    (doc,) = load_file(tmp_path / "plain.html", MB)
    assert doc.published is None and "Turnip prices" in doc.text


def test_rss_items_are_articles_with_full_content_through_our_html_defences():
    skipped = []
    docs = _by_title(load_file(NEWS / "feed.rss", MB, skipped))
    bridge = docs["Riverside opens new footbridge"]
    assert bridge.url == "https://courier.example/news/footbridge"
    assert bridge.published == "2025-03-05T07:30:00+00:00" and bridge.outlet == "Riverside Courier"
    assert "140 metres" in bridge.text and "summary" not in bridge.text  # content:encoded beats the summary
    assert "alert" not in bridge.text and "Hidden text" not in bridge.text
    choir = docs["School choir wins regional contest"]
    assert "eleven other choirs" in choir.text and choir.published == "2025-03-07T18:00:00+00:00"
    assert [s.reason for s in skipped] == ["item 3: no content or summary in it"]


def test_atom_entries_published_else_updated():
    docs = _by_title(load_file(NEWS / "feed.atom", MB))
    tram = docs["Hilltown tram line approved"]
    assert tram.published == "2025-03-10T09:00:00+02:00" and tram.outlet == "Hilltown Observer"
    assert tram.url == "https://observer.example/tram" and "12 kilometres" in tram.text
    assert docs["Hilltown marathon draws record field"].published == "2025-03-08T08:00:00+00:00"


def test_xml_is_a_feed_only_by_content(tmp_path):
    (tmp_path / "feed.xml").write_bytes((NEWS / "feed.atom").read_bytes())
    (tmp_path / "other.xml").write_text("<?xml version='1.0'?><catalog><book>x</book></catalog>", encoding="utf-8")
    loaded = load_paths([tmp_path], MB)
    assert len(loaded.documents) == 2
    assert [s.reason.split(" (")[0] for s in loaded.skipped] == ["an XML file that is not an RSS or Atom feed"]


def _warc(path: Path, bad: bool = True) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=path.name.endswith(".gz"))

        def response(uri: str, body: bytes, kind: str = "text/html; charset=utf-8", when: str = "2025-03-15T12:00:00Z"):
            headers = StatusAndHeaders("200 OK", [("Content-Type", kind)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=headers,
                                                          warc_headers_dict={"WARC-Date": when}))

        writer.write_record(writer.create_warc_record("https://northernpost.example/", "request",
                                                      payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        response("https://northernpost.example/lighthouse", (NEWS / "newsarticle.html").read_bytes())
        response("https://www.plainsite.example/turnips",
                 b"<html><body><article><p>Turnip prices fell by a third at the winter market.</p></article></body></html>")
        response("https://plainsite.example/logo.png", b"\x89PNG\r\n", kind="image/png")
        if bad:
            response("https://plainsite.example/broken", b"\x00\x01\x02 not a page", kind="text/html")
    return path


@pytest.mark.parametrize("name", ["crawl.warc", "crawl.warc.gz"])
def test_warc_html_responses_are_articles_and_bad_records_are_skipped(tmp_path, name):
    loaded = load_paths([_warc(tmp_path / name)], MB)
    docs = _by_title(loaded.documents)
    page = docs["Lighthouse keeper retires after forty years"]
    assert (page.published, page.outlet) == ("2025-03-06T09:15:00+00:00", "Northern Post")  # the page's own
    plain = next(d for d in loaded.documents if "Turnip" in d.text)
    assert plain.url == "https://www.plainsite.example/turnips"
    assert plain.published == "2025-03-15T12:00:00+00:00" and plain.outlet == "plainsite.example"  # WARC-Date, host
    reasons = [s.reason for s in loaded.skipped]
    assert any(r.startswith("record ") and "NUL" in r for r in reasons)
    assert any("not HTML pages (image/png: 1)" in r for r in reasons)


def test_warc_record_over_the_size_cap_is_skipped_alone(tmp_path):
    path = _warc(tmp_path / "crawl.warc", bad=False)
    loaded = load_paths([path], 400)  # smaller than the lighthouse page, larger than the turnip one
    assert [d.outlet for d in loaded.documents] == ["plainsite.example"]
    assert any("larger than" in s.reason for s in loaded.skipped)


def test_news_formats_index_with_exact_offsets_and_list_their_fields(tmp_path):
    bot = Assistant(index=tmp_path / "index")
    report = bot.ingest([*sorted(p for p in NEWS.iterdir() if p.is_file()), _warc(tmp_path / "crawl.warc")])
    expected = ("record ", "item ", "not HTML", "same text as document 'newsarticle-")  # the page is in both
    assert report.added and all(s.reason.startswith(expected) or expected[2] in s.reason for s in report.skipped)
    infos = {d.id: d for d in bot.documents()}
    assert infos["harbor-2"].outlet == "Coastal Herald" and infos["harbor-2"].published == "2025-03-12"
    answer = bot.ask("How long is the Riverside footbridge?")
    assert not answer.refused
    for c in answer.citations:
        doc = bot.document(c.doc_id)
        assert doc.text[c.start:c.end] == c.quote
        assert (c.published, c.outlet) == (doc.published, doc.outlet)
    assert json.loads(json.dumps([c.also_in for c in answer.citations])) == [[] for _ in answer.citations]


def test_a_file_that_is_not_a_warc_is_one_clean_skip(tmp_path, capfd):
    (tmp_path / "junk.warc").write_bytes(b"this is not a web archive\n" * 50)
    loaded = load_paths([tmp_path / "junk.warc"], MB)
    assert not loaded.documents
    assert [s.reason for s in loaded.skipped] == ["not a WARC file (it does not start with a WARC/1.x record)"]
    assert "WARNING" not in capfd.readouterr().err
