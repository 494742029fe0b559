import json
from pathlib import Path

import pytest

from assistant.core.errors import LoadError
from assistant.ingest.load import load_file, load_paths

MB = 1_000_000


def _pdf(text: str) -> bytes:
    """A minimal one-page PDF with `text` in Helvetica (built by hand, no library)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)


def test_txt_and_md(tmp_path: Path):
    (tmp_path / "a.txt").write_text("Plain text article about wheat prices. They rose.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Wheat Harvest Report\n\nThe harvest was large this year.", encoding="utf-8")
    docs = {d.source.rsplit("/", 1)[-1]: d for d in load_paths([tmp_path], MB).documents}
    assert docs["b.md"].title == "Wheat Harvest Report"
    assert docs["b.md"].text[docs["b.md"].body_start:].startswith("The harvest")
    assert len(docs["a.txt"].content_hash) == 64


def test_html_main_text_only(tmp_path: Path):
    page = """<html><head><title>Grain News</title><style>.x{color:red}</style>
    <meta property="article:published_time" content="2025-08-01"></head><body><nav>Home | World</nav>
    <article><h1>Grain News</h1><p>Wheat rose 5% on Monday.<script>alert('x')</script></p>
    <div hidden>hidden text</div><p style="display: none">invisible</p><p aria-hidden="true">aria</p>
    <p>Traders cited <b>dry weather</b> &amp; demand.</p></article><footer>Copyright</footer></body></html>"""
    (tmp_path / "p.html").write_text(page, encoding="utf-8")
    (doc,) = load_file(tmp_path / "p.html", MB)
    assert doc.title == "Grain News" and doc.published == "2025-08-01"
    assert "Wheat rose 5% on Monday." in doc.text and "dry weather & demand" in doc.text
    for bad in ("alert", "hidden text", "invisible", "aria", "Home", "color:red", "Copyright"):
        assert bad not in doc.text


def test_json_and_jsonl_records(tmp_path: Path):
    (tmp_path / "one.json").write_text(json.dumps({"title": "T1", "text": "Oil fell sharply today.", "url": "http://x/1",
                                                   "published": "2025-01-02"}))
    lines = [json.dumps({"id": "r1", "title": "R1", "text": "Gold rose."}), "{not json", json.dumps({"title": "no text"}),
             json.dumps({"text": "Copper was flat."})]
    (tmp_path / "many.jsonl").write_text("\n".join(lines))
    loaded = load_paths([tmp_path], MB)
    by_title = {d.title: d for d in loaded.documents}
    assert by_title["T1"].url == "http://x/1" and by_title["T1"].published == "2025-01-02"
    assert by_title["R1"].id == "r1"
    assert any(d.text == "Copper was flat." for d in loaded.documents)
    reasons = sorted(s.reason for s in loaded.skipped)
    assert len(reasons) == 2 and any("invalid JSON" in r for r in reasons) and any("no 'text'" in r for r in reasons)


def test_pdf(tmp_path: Path):
    (tmp_path / "r.pdf").write_bytes(_pdf("Rice exports doubled in June."))
    (doc,) = load_file(tmp_path / "r.pdf", MB)
    assert "Rice exports doubled in June." in doc.text


@pytest.mark.parametrize("name,data,reason", [
    ("bin.txt", b"\x00\x01\x02binary", "binary"),
    ("latin.txt", "Caf\xe9 au lait".encode("latin-1"), "not UTF-8"),
    ("empty.txt", b"   \n", "empty"),
    ("bad.pdf", b"%PDF-1.4 garbage", "PDF"),
])
def test_bad_files_are_skipped_with_reason_and_others_still_load(tmp_path: Path, name: str, data: bytes, reason: str):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text("A good article. It has text.", encoding="utf-8")
    loaded = load_paths([tmp_path], MB)
    assert [Path(d.source).name for d in loaded.documents] == ["good.txt"]
    assert len(loaded.skipped) == 1 and reason in loaded.skipped[0].reason


def test_too_large_and_missing(tmp_path: Path):
    (tmp_path / "big.txt").write_text("word " * 1000)
    with pytest.raises(LoadError, match="too large"):
        load_file(tmp_path / "big.txt", 1000)
    loaded = load_paths([tmp_path / "nope.txt"], MB)
    assert loaded.skipped[0].reason == "cannot read: No such file or directory"


def test_utf16_with_bom_is_read(tmp_path: Path):
    (tmp_path / "u.txt").write_bytes("Zinc prices climbed again.".encode("utf-16"))
    (doc,) = load_file(tmp_path / "u.txt", MB)
    assert doc.text == "Zinc prices climbed again."


# -- JSON records: identity, repeats, malformed lines ------------------------------------------

ARTICLES = [
    {"title": "Ferry Strike", "text": "The Stromness ferry crews walked out on Monday. Sailings to Hoy were cancelled."},
    {"title": "Harbour Dredging", "text": "Dredging of Kirkwall harbour starts in May. The work will take eleven weeks."},
    {"title": "Puffin Count", "text": "Rangers counted 4,200 puffins on Westray this spring. That is a record high."},
]
NEW = {"title": "Airport Upgrade", "text": "Kirkwall airport gets a longer runway. Building starts next year."}


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_jsonl_ids_come_from_the_record_or_its_text_never_its_line(tmp_path: Path):
    given = {"id": "orkney-7", "text": "Orkney council set its budget. Taxes stay flat."}
    f = _jsonl(tmp_path / "news.jsonl", ARTICLES + [given])
    before = {d.text: d.id for d in load_file(f, MB)}
    _jsonl(f, [NEW] + ARTICLES[::-1] + [given])  # one line prepended, the others reordered
    after = {d.text: d.id for d in load_file(f, MB)}
    assert len(after) == 5 and all(after[text] == doc_id for text, doc_id in before.items())
    assert after[given["text"]] == "orkney-7" and len(set(after.values())) == 5


def test_repeated_id_or_text_in_a_file_skips_the_later_record_with_its_reason(tmp_path: Path):
    a, b, c = (r["text"] for r in ARTICLES)
    f = _jsonl(tmp_path / "dup.jsonl", [{"id": "x", "text": a}, {"id": "x", "text": b}, {"id": "x", "text": a},
                                        {"text": c}, {"text": c}])
    loaded = load_paths([f], MB)
    assert sorted(d.text for d in loaded.documents) == sorted([a, c])
    assert [s.reason for s in loaded.skipped] == ["line 2: id 'x' already used on line 1",
                                                  "line 3: id 'x' already used on line 1",
                                                  "line 5: the same text as line 4"]


@pytest.mark.parametrize("line,reason", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[1, 2]", "must be an object with a 'text' field, not a list"),
    ('"a bare string"', "not a string"),
    ("null", "not null"),
    ('{"text": 5}', "no 'text' string ('text' is a number)"),
    ('{"text": ["Gold rose."]}', "'text' is a list"),
    ('{"id": {"a": 1}, "text": "Gold rose. Silver fell."}', "'id' is an object"),
    ('{"text": "Gold rose. Silver fell.", "n": ' + "1" * 5000 + "}", "number too long"),
    ('{"text": "Gold rose.', "invalid JSON"),
    (json.dumps({"text": "Gold rose. " * 200_000}), "longer than any article"),
])
def test_malformed_jsonl_line_is_skipped_with_its_reason_and_the_rest_load(tmp_path: Path, line: str, reason: str):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join([json.dumps(ARTICLES[0]), line, json.dumps(ARTICLES[1])]), encoding="utf-8")
    loaded = load_paths([f], 10 * MB)
    assert [d.title for d in loaded.documents] == ["Ferry Strike", "Harbour Dredging"]
    assert len(loaded.skipped) == 1 and loaded.skipped[0].reason.startswith("line 2: ")
    assert reason in loaded.skipped[0].reason


def test_json_file_nested_too_deeply_is_skipped_and_a_bad_record_in_a_list_skips_alone(tmp_path: Path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "list.json").write_text(json.dumps([ARTICLES[0], 5, ARTICLES[1], ARTICLES[0]]))
    loaded = load_paths([tmp_path], MB)
    assert [d.title for d in loaded.documents] == ["Ferry Strike", "Harbour Dredging"]
    reasons = sorted((Path(s.source).name, s.reason) for s in loaded.skipped)
    assert reasons == [("deep.json", "JSON nested too deeply: not an article"),
                       ("list.json", "record 2: a JSON article must be an object with a 'text' field, not a number"),
                       ("list.json", "record 4: the same text as record 1")]


def test_line_breaks_inside_json_strings_do_not_split_a_record(tmp_path: Path):
    text = "Gales closed the causeway.\u2028Buses ran late.\x85Schools shut early."
    f = tmp_path / "breaks.jsonl"
    f.write_bytes((json.dumps({"text": text}, ensure_ascii=False) + "\r\n" + json.dumps(ARTICLES[0]) + "\r\n").encode())
    loaded = load_paths([f], MB)
    assert not loaded.skipped and [d.text for d in loaded.documents] == [text, ARTICLES[0]["text"]]


def test_same_id_in_two_files_or_a_file_named_twice_loads_once(tmp_path: Path):
    a = _jsonl(tmp_path / "a.jsonl", [{"id": "x", **ARTICLES[0]}])
    b = _jsonl(tmp_path / "b.jsonl", [{"id": "x", **ARTICLES[1]}])
    loaded = load_paths([a, tmp_path, b], MB)
    assert [d.title for d in loaded.documents] == ["Ferry Strike"]
    assert [(Path(s.source).name, s.reason) for s in loaded.skipped] == [("b.jsonl", f"id 'x' already used in {a}")]


def test_collection_names_the_records_a_file_no_longer_holds(tmp_path: Path):
    f = _jsonl(tmp_path / "news.jsonl", ARTICLES + [{"id": "kept", "text": "Given ids are never stale. Ever."}])
    old = [d.id for d in load_paths([f], MB).documents]
    edited = dict(ARTICLES[1], text="Dredging of Kirkwall harbour is postponed. No date was set.")
    _jsonl(f, [NEW, ARTICLES[0], edited, ARTICLES[2]])
    (collection,) = load_paths([f], MB).collections
    file_id = old[0].rsplit("-", 1)[0]
    indexed = old + [f"{file_id}-L3", f"{file_id}-2", "other-123456-0123456789ab", "kept2"]
    assert collection.stale(indexed) == sorted([old[1], f"{file_id}-2", f"{file_id}-L3"])
    with f.open("a", encoding="utf-8") as out:
        out.write("{broken\n")
    (unreadable,) = load_paths([f], MB).collections
    assert not unreadable.complete and unreadable.stale(indexed) == []  # nothing dropped on a partial read


# -- ingest through the Assistant, into a real embedded Chroma index -----------------------------

def test_ingest_prepended_record_is_added_and_every_old_one_stays(tmp_path: Path):
    from assistant import Assistant

    f = _jsonl(tmp_path / "news.jsonl", ARTICLES)
    bot = Assistant(index=tmp_path / "index")
    assert len(bot.ingest([f]).added) == 3
    _jsonl(f, [NEW] + ARTICLES)
    report = bot.ingest([f])
    assert len(report.added) == 1 and len(report.unchanged) == 3 and not report.updated and not report.skipped
    texts = sorted(bot.document(d.id).text for d in bot.documents())
    assert texts == sorted(r["text"] for r in [NEW] + ARTICLES)
    assert "4,200" in bot.ask("How many puffins did rangers count on Westray?").answer


def test_ingest_repeated_id_skips_the_later_record_and_adds_the_rest(tmp_path: Path):
    from assistant import Assistant

    f = _jsonl(tmp_path / "dup.jsonl", [{"id": "x", **ARTICLES[0]}, {"id": "x", **ARTICLES[1]}, ARTICLES[2]])
    bot = Assistant(index=tmp_path / "index")
    report = bot.ingest([f])
    assert len(report.added) == 2 and "x" in report.added
    assert [s.reason for s in report.skipped] == ["line 2: id 'x' already used on line 1"]
    assert sorted(d.title for d in bot.documents()) == ["Ferry Strike", "Puffin Count"]


def test_ingest_nested_json_is_skipped_with_its_reason(tmp_path: Path):
    from assistant import Assistant

    f = tmp_path / "deep.jsonl"
    f.write_text(json.dumps(ARTICLES[0]) + "\n" + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    (tmp_path / "deep.json").write_text("{\"text\": " + "[" * 100_000 + "]" * 100_000 + "}")
    report = Assistant(index=tmp_path / "index").ingest([tmp_path])
    assert len(report.added) == 1
    assert sorted((Path(s.source).name, s.reason) for s in report.skipped) == [
        ("deep.json", "JSON nested too deeply: not an article"),
        ("deep.jsonl", "line 2: JSON nested too deeply: not an article")]


def test_ingest_edited_record_without_id_replaces_its_old_version(tmp_path: Path):
    from assistant import Assistant

    f = _jsonl(tmp_path / "news.jsonl", ARTICLES)
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([f])
    edited = dict(ARTICLES[1], text="Dredging of Kirkwall harbour is postponed. No date was set.")
    _jsonl(f, [ARTICLES[0], edited, ARTICLES[2]])
    bot.ingest([f])
    assert sorted(bot.document(d.id).text for d in bot.documents()) == sorted(r["text"] for r in
                                                                              [ARTICLES[0], edited, ARTICLES[2]])


# -- issue 25: ids are owned by their source; text must be valid Unicode -------------------------

def test_a_record_id_never_replaces_another_sources_document(tmp_path: Path, seeds_copy: Path):
    from assistant import Assistant

    bot = Assistant(index=tmp_path / "index")
    bot.ingest([seeds_copy])
    seed = bot.documents()[0]
    kept = bot.document(seed.id).text
    planted = _jsonl(tmp_path / "planted.jsonl", [{"id": seed.id, **ARTICLES[0]}, ARTICLES[1]])
    report = bot.ingest([planted])
    assert report.updated == () and len(report.added) == 1  # the other record still loads
    (skip,) = report.skipped
    assert skip.reason == (f"id {seed.id!r} belongs to another source (seeds/{Path(seed.source).name}): "
                           "use a different id or delete it first")
    assert bot.document(seed.id).text == kept and len(bot.documents()) == 3  # nothing indexed was lost
    # Its own source still updates it; the planted file, once the id is free, may take it.
    (seeds_copy / Path(seed.source).name).write_text(kept + "\n\nA line added by the editor.", encoding="utf-8")
    assert bot.ingest([seeds_copy]).updated == (seed.id,)
    bot.delete(seed.id)
    assert bot.ingest([planted]).added == (seed.id,)


def test_a_record_that_moves_to_another_file_keeps_its_id(tmp_path: Path):
    from assistant import Assistant

    a = _jsonl(tmp_path / "a.jsonl", [{"id": "puffins", **ARTICLES[0]}, ARTICLES[1]])
    b = _jsonl(tmp_path / "b.jsonl", [ARTICLES[2]])
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([a, b])
    _jsonl(b, [ARTICLES[2], {"id": "puffins", **ARTICLES[0], "text": ARTICLES[0]["text"] + " Counts resume in May."}])
    assert [s.reason for s in bot.ingest([b]).skipped] == [  # a still holds it: not b's to take
        "id 'puffins' belongs to another source (" + f"{tmp_path.name}/a.jsonl): use a different id or delete it first"]
    _jsonl(a, [ARTICLES[1]])  # moved: a, read in full, no longer holds it
    report = bot.ingest([a, b])
    assert report.updated == ("puffins",) and not report.skipped
    assert bot.document("puffins").text.endswith("Counts resume in May.")


def test_lone_surrogates_in_records_are_skipped_with_the_reason(tmp_path: Path):
    from assistant import Assistant

    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(ARTICLES[0]) + "\n" + '{"text": "Broken \\ud800 escape in a ferry story."}\n'
                 + '{"title": "Bad \\udfff title", "text": "A fine text about the harbour."}\n', encoding="utf-8")
    report = Assistant(index=tmp_path / "index").ingest([f])
    assert len(report.added) == 1
    assert [s.reason.split(":")[0] for s in report.skipped] == ["line 2", "line 3"]
    assert all("invalid Unicode" in s.reason for s in report.skipped)
