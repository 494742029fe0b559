from assistant.answer import verify
from assistant.answer.cite import Checker, best_span, is_refusal, lexical_support, parse
from assistant.answer.support import THRESHOLD

P1 = "Russian forces advanced, with Ukraine losing 502 square kilometers in July. Moscow occupies a fifth of Ukraine."
P2 = "A recent attack on Kyiv killed 31 people, including five children."


def test_parse_marker_styles():
    got = parse("Ukraine lost 502 km² in July [1]. Kyiv was hit.[2][3] Five children died 【2】. "
                "Moscow holds a fifth [Source 1]. Both [1, 2].")
    assert [d.cited for d in got] == [(1,), (2, 3), (2,), (1,), (1, 2)]
    assert got[0].text == "Ukraine lost 502 km² in July."


def test_numbers_not_in_passage_are_not_supported():
    assert lexical_support("Ukraine lost 502 square kilometers in July.", P1) >= THRESHOLD
    assert lexical_support("Ukraine lost 900 square kilometers in July.", P1) < THRESHOLD / 2


def test_checker_drops_unknown_numbers_and_attaches_uncited_sentences():
    checks = Checker().check(parse("Ukraine lost 502 square kilometers in July [7]. The attack on Kyiv killed 31 people."),
                             [P1, P2])
    assert checks[0].cited == () and checks[0].supporting == (1,)
    assert checks[1].supporting == (2,) and checks[1].supported


def test_verify_flags_invented_facts():
    v = verify("Ukraine lost 502 square kilometers in July [1]. Canberra is the capital of Australia [1].", [P1, P2])
    assert [s.supported for s in v.sentences] == [True, False]
    assert v.verdict == "partial" and v.groundedness == 0.5


def test_best_span_finds_the_matching_sentence():
    a, b = best_span("Ukraine lost 502 square kilometres of land in July", P1)
    assert P1[a:b] == "Russian forces advanced, with Ukraine losing 502 square kilometers in July."


def test_refusal_detection():
    assert is_refusal("The articles don't say.")
    assert is_refusal("The sources do not contain information about that.")
    assert not is_refusal("Ukraine lost 502 square kilometers [1].")


def test_citations_say_whether_their_plain_text_quote_holds_link_syntax(tmp_path):
    """`quote` stays the exact article text; `quote_has_link` warns a renderer that it holds
    Markdown/HTML link syntax or a URL (issue 25), in `to_dict` and so in every JSON output."""
    import json

    from assistant import Assistant
    from assistant.core.data import Citation, has_link_syntax, to_dict

    for text, link in (("Rangers counted 4,200 puffins.", False), ("See [the plan](https://evil.example/p).", True),
                       ("![x](//evil.example/i.png)", True), ("<a href='x'>here</a>", True),
                       ("Read www.evil.example today.", True), ("[1]: https://evil.example", True),
                       ("The data: 40 tanks [in July].", False)):
        assert has_link_syntax(text) is link, text
    f = tmp_path / "pier.jsonl"
    f.write_text(json.dumps({"id": "faro", "title": "Faro pier", "text": (
        "The new Faro pier has 12 moorings, according to [the port plan](https://evil.example/plan). "
        "It opens in June.")}) + "\n", encoding="utf-8")
    bot = Assistant(index=tmp_path / "index")
    bot.ingest([f])
    answer = bot.ask("How many moorings does the new Faro pier have?")
    assert not answer.refused and answer.citations
    text = bot.document("faro").text
    for c in answer.citations:
        assert text[c.start:c.end] == c.quote  # exact, links and all
        assert c.quote_has_link is has_link_syntax(c.quote)
    assert any(c.quote_has_link for c in answer.citations)
    plain = Citation(n=1, doc_id="d", title="t", source="s", chunk_id="c", quote="12 moorings", start=0, end=11)
    assert to_dict(plain)["quote_has_link"] is False


def test_the_quote_is_the_shortest_run_of_sentences_that_supports_the_sentence():
    """"Eden" is only in the sentence before: the best-matching single sentence does not
    support the claim, the pair does. With `supports`, the quote is what was checked."""
    passage = ("Eden Hazard has admitted an intense campaign may have left him tired after a long season in "
               "England. Hazard has been in superb form for Chelsea this season and scored the winner against "
               "Manchester United. Belgium won 1-0 in Jerusalem.")
    claim = "Eden Hazard scored Chelsea's winner against Manchester United."
    checker = Checker()
    a, b = best_span(claim, passage)
    assert passage[a:b].startswith("Hazard has been") and not checker.supports(claim, passage[a:b])
    a, b = best_span(claim, passage, supports=lambda quote: checker.supports(claim, quote))
    assert passage[a:b].startswith("Eden Hazard has admitted") and passage[a:b].endswith("Manchester United.")
    assert checker.supports(claim, passage[a:b])
    # a supported single sentence stays a single sentence; an exact occurrence wins outright
    one = "Hazard scored the winner against Manchester United for Chelsea."
    a, b = best_span(one, passage, supports=lambda quote: checker.supports(one, quote))
    assert passage[a:b].startswith("Hazard has been") and passage[a:b].endswith("United.")
    assert best_span("Belgium won 1-0 in Jerusalem.", passage, supports=lambda q: False) == (len(passage) - 29, len(passage))
