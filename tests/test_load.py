import json
from pathlib import Path

import pytest

from assistant.errors import LoadError
from assistant.load import load_file, load_paths

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
