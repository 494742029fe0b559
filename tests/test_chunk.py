from conftest import SEEDS

from assistant.ingest.chunk import Chunker
from assistant.ingest.load import load_paths


def test_seed_chunks_have_exact_offsets_and_fit_the_budget():
    chunker = Chunker(max_tokens=120, overlap=30)
    for doc in load_paths([SEEDS], 10**7).documents:
        chunks = chunker.chunk(doc)
        assert len(chunks) >= 3
        start, end = doc.body_span()
        for c in chunks:
            assert doc.text[c.start:c.end] == c.text
            assert start <= c.start < c.end <= end
            assert chunker.count(c.text) <= 120
        assert len({c.id for c in chunks}) == len(chunks)
        # Overlap: some consecutive chunks share text, and every body sentence is covered.
        assert any(b.start < a.end for a, b in zip(chunks, chunks[1:]))
        assert chunks[0].start == start and chunks[-1].end == end


def test_long_sentence_is_cut_at_word_boundaries():
    from assistant.core.data import Document

    text = " ".join(f"word{i}" for i in range(400))
    doc = Document(id="d", title="t", source="s", text=text, content_hash="h" * 64)
    chunks = Chunker(max_tokens=50, overlap=10).chunk(doc)
    assert len(chunks) > 3
    for c in chunks:
        assert text[c.start:c.end] == c.text and not c.text.startswith(" ") and "word" in c.text.split()[0]
