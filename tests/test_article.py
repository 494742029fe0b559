from conftest import SEEDS

from assistant.ingest.article import shape


def test_headline_seed_gets_its_headline_and_skips_caption_and_boilerplate():
    text = (SEEDS / "000_27f29ae969c6fbd6.txt").read_text(encoding="utf-8")
    s = shape(text)
    assert s.title == "Putin Rejects Trump Ceasefire Deadline, Prioritizes Capturing Four Ukrainian Regions"
    body = text[s.body_start:s.body_end]
    assert "Courtesy: REUTERS" not in body
    assert "Read More About" not in body and "Done" not in body.split()[-1]
    assert body.endswith("could shape the next phase of the war.")


def test_seed_without_headline_gets_a_title_from_its_first_sentence():
    text = (SEEDS / "003_64c2f9a090f76fdc.txt").read_text(encoding="utf-8")
    s = shape(text)
    assert s.title.startswith("After Ukraine agreed to a US proposal")
    assert len(s.title) <= 91
    body = text[s.body_start:s.body_end]
    assert body.startswith("After Ukraine agreed")
    assert "Read the full article here" not in body and "Additional reporting" not in body


def test_explicit_title_is_kept_and_boilerplate_early_in_text_is_not_cut():
    text = "Read more: this sentence is part of the story and is early. " + "Body sentence. " * 40
    s = shape(text, title="Given")
    assert s.title == "Given" and s.body_start == 0 and s.body_end == len(text.rstrip())
