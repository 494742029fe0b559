from assistant.core.text import sentence_spans, terms


def test_sentences_respect_abbreviations_and_lines():
    text = "U.S. President Trump spoke. Mr. Smith left at 5 p.m. today.\nA Headline Without Dot\nShe said “no.” Then left."
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == ["U.S. President Trump spoke.", "Mr. Smith left at 5 p.m. today.", "A Headline Without Dot",
                   "She said “no.”", "Then left."]


def test_sentence_offsets_are_exact_inside_a_range():
    text = "xx  First one. Second one!  yy"
    spans = sentence_spans(text, 2, 27)
    assert [text[a:b] for a, b in spans] == ["First one.", "Second one!"]


def test_terms_stem_and_drop_stopwords():
    assert terms("How much territory did Ukraine lose?") == ["territori", "ukrain", "lose"]
    assert terms("Ukraine losing territories") == ["ukrain", "lose", "territori"]
    assert "30" in terms("a 30-day ceasefire")
