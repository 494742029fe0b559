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
