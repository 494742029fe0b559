"""Near-duplicate story grouping: copies of one wire story share a story id; other
articles, even about the same event, do not."""
from __future__ import annotations

import pytest

from assistant.index.story_grouping import (
    MinHashGroups,
    StoryIndexDamaged,
    StoryParams,
    also_in,
    group,
    normalise,
    shingles,
)

WIRE = [
    "A powerful storm swept across the northern coast of Brittany on Tuesday night, cutting power to thousands of homes.",
    "Emergency services said two fishermen were missing after their trawler lost contact off the port of Roscoff.",
    "Winds of up to 150 kilometres an hour toppled trees and tore the roofs from several buildings in Brest.",
    "The national weather agency had placed four departments on red alert, its highest level of warning.",
    "Rail operator SNCF suspended all regional trains in the area until further notice, stranding commuters.",
    "\u201cWe have never seen waves like this in the harbour,\u201d said Yann Le Goff, a harbour master in Roscoff.",
    "Schools in the region will remain closed on Wednesday while engineers inspect damaged bridges and roads.",
    "The interior minister is expected to visit the worst-hit towns and meet rescue crews later in the week.",
    "Insurers estimated that claims could exceed the damage caused by a similar storm that struck the coast in 1999.",
    "Farmers reported flooded fields and drowned livestock along the river valleys south of Morlaix.",
    "Ferry crossings between Roscoff and Plymouth were cancelled, and the port authority closed the harbour entrance.",
    "Forecasters warned that a second band of heavy rain could bring more flooding to low-lying villages by Friday.",
]
SAME_TOPIC = (  # same storm, same places and people, written independently
    "Brittany counts the cost after storm batters coast\n\n"
    "Residents of Roscoff and Brest woke on Wednesday to fallen trees, flooded cellars and boats thrown onto quays. "
    "Yann Le Goff, who runs the harbour in Roscoff, described the night as the worst he could remember. "
    "The search for two missing fishermen resumed at dawn with helicopters and lifeboats from three stations. "
    "SNCF said regional trains could start running again once tracks near Morlaix are cleared of debris. "
    "The interior minister arrived in Brest in the afternoon and promised emergency funds for farmers and fishermen."
)
OTHER = (
    "Central bank holds rates as inflation cools\n\n"
    "The central bank kept its main interest rate unchanged on Thursday, saying inflation was easing faster than expected. "
    "Policymakers voted seven to two to hold borrowing costs, with two members favouring an immediate cut. "
    "The governor told reporters that the committee needed more evidence that wage growth was slowing before acting. "
    "Markets had priced in a small chance of a cut, and the currency rose slightly after the announcement. "
    "Economists said the first reduction was now likely in the spring, depending on the next inflation figures."
)


def wire(sents: list[str] = WIRE, headline: str = "Storm hits Brittany coast", footer: str = "") -> str:
    paras = [" ".join(sents[i:i + 3]) for i in range(0, len(sents), 3)]
    return "\n\n".join([headline, *paras] + ([footer] if footer else []))


@pytest.fixture
def copies() -> dict[str, str]:
    return {
        "ap": wire(footer="Copyright The Associated Press. All rights reserved."),
        "trimmed": wire(WIRE[:7], headline="Storm hits Brittany coast"),
        "reheaded": wire(headline="Two fishermen missing as violent storm lashes northern France"),
        "updated": wire(["UPDATED: Rescuers found one of the missing fishermen alive on Wednesday morning."] + WIRE,
                        headline="One fisherman found alive after Brittany storm"),
        "same_topic": SAME_TOPIC,
        "other": OTHER,
    }


def test_shingles_are_normalised_word_windows() -> None:
    assert shingles("The  Storm, the STORM!", 2) == {b"the storm", b"storm the"}
    assert shingles("one two", 4) == {b"one two"}
    assert shingles("", 4) == set()


def test_copies_group_and_other_articles_stay_apart(copies: dict[str, str]) -> None:
    stories = group(copies)
    assert {stories[d] for d in ("ap", "trimmed", "reheaded", "updated")} == {"ap"}
    assert stories["same_topic"] == "same_topic"
    assert stories["other"] == "other"


def test_story_id_is_the_earliest_member_whatever_arrives_next(copies: dict[str, str]) -> None:
    index = MinHashGroups()
    assert index.add("trimmed", copies["trimmed"]) == "trimmed"
    assert index.add("other", copies["other"]) == "other"
    assert index.add("ap", copies["ap"]) == "trimmed"
    assert index.add("reheaded", copies["reheaded"]) == "trimmed"
    assert index.members("trimmed") == ["trimmed", "ap", "reheaded"]
    assert index.story_of("other") == "other" and index.story_of("nope") is None


def test_exact_duplicates_share_a_story(copies: dict[str, str]) -> None:
    assert group({"a": copies["ap"], "b": copies["ap"]}) == {"a": "a", "b": "a"}


def test_grouping_is_transitive_and_removal_splits_a_bridged_story() -> None:
    index = MinHashGroups()
    index.add("first_half", wire(WIRE[:6]))
    index.add("second_half", wire(WIRE[6:]))
    assert index.story_of("second_half") == "second_half"
    assert index.add("full", wire(WIRE)) == "first_half"  # contains both halves: merges them
    assert index.story_of("second_half") == "first_half"
    assert index.remove("full") == {"second_half": "second_half"}
    assert index.story_of("first_half") == "first_half" and index.story_of("second_half") == "second_half"
    assert index.remove("full") == {}


def test_removing_the_earliest_member_hands_the_id_on(copies: dict[str, str]) -> None:
    index = MinHashGroups()
    for d in ("ap", "trimmed", "reheaded"):
        index.add(d, copies[d])
    assert index.remove("ap") == {"trimmed": "trimmed", "reheaded": "trimmed"}
    assert index.members("trimmed") == ["trimmed", "reheaded"] and "ap" not in index


def test_re_adding_an_id_replaces_its_text(copies: dict[str, str]) -> None:
    index = MinHashGroups()
    index.add("ap", copies["ap"])
    index.add("x", copies["trimmed"])
    assert index.story_of("x") == "ap"
    index.add("x", copies["other"])
    assert index.story_of("x") == "x" and index.members("ap") == ["ap"] and len(index) == 2


def test_empty_text_is_its_own_story() -> None:
    index = MinHashGroups()
    assert index.add("e1", "") == "e1" and index.add("e2", "  ") == "e2"


def test_save_and_load_round_trip(tmp_path, copies: dict[str, str]) -> None:
    index = MinHashGroups()
    for d, text in copies.items():
        index.add(d, text)
    path = tmp_path / "stories.json"
    index.save(path)
    loaded = MinHashGroups.load(path)
    assert loaded.assignments() == index.assignments() and loaded.params == index.params
    assert loaded.similarity("ap", "trimmed") == index.similarity("ap", "trimmed")
    assert loaded.add("late_copy", copies["reheaded"] + "\n\nMore to follow.") == "ap"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_load_of_a_missing_file_is_empty_and_damage_is_a_typed_error(tmp_path) -> None:
    assert len(MinHashGroups.load(tmp_path / "none.json")) == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "params": {}, "next": 0, "docs": [{"id": "x"}]}')
    with pytest.raises(StoryIndexDamaged, match="re-ingest"):
        MinHashGroups.load(bad)


def test_params_are_checked() -> None:
    from assistant.core.errors import ConfigError
    with pytest.raises(ConfigError):
        MinHashGroups(StoryParams(num_perm=16, bands=16, rows=2))


def test_also_in_lists_other_members_carrying_the_sentence(copies: dict[str, str]) -> None:
    index = MinHashGroups()
    for d, text in copies.items():
        index.add(d, text)
    quote = '"We have never seen waves like this in the harbour,"  said Yann Le Goff,'
    assert normalise(WIRE[5]).startswith(normalise(quote)[:40])
    assert also_in(index, "ap", quote, copies) == ["trimmed", "reheaded", "updated"]
    late = WIRE[-1]  # dropped from the trimmed copy
    assert also_in(index, "reheaded", late, copies) == ["ap", "updated"]
    assert also_in(index, "other", OTHER.split("\n\n")[1][:60], copies) == []
    assert also_in(index, "unknown", late, copies) == []


def test_groups_do_not_depend_on_arrival_order(copies: dict[str, str]) -> None:
    forward, backward = group(copies), group(dict(reversed(list(copies.items()))))
    partition = lambda lab: sorted(sorted(d for d in lab if lab[d] == s) for s in set(lab.values()))  # noqa: E731
    assert partition(forward) == partition(backward)
    assert backward["ap"] == "updated"  # the id is the earliest member of that run


def test_a_file_that_is_not_an_index_is_damaged(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(StoryIndexDamaged):
        MinHashGroups.load(bad)


def test_near_duplicates_made_from_cnn_dailymail_articles_are_grouped(capsys):
    """A small slice of the benchmark (`benchmarks/bench_stories.py`): CNN/DailyMail
    articles from HaluEval summarization lines 2,501-2,700 (test half of our lines), each with
    0-3 trimmed, re-headlined, re-paragraphed or edited copies; precision and recall of the
    same-story decisions are printed and must stay high."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import bench_stories

    from assistant.index.story_grouping import group

    docs, truth, kinds = bench_stories.build(2501, 2700, seed=16)
    truth, _ = bench_stories.merged_truth(docs, truth)
    got = bench_stories.score(group(docs), truth)
    with capsys.disabled():
        print(f"\nstories on {len(docs)} CNN/DailyMail-derived documents ({len(kinds)} copies): "
              f"pairwise P {got['P']:.3f} R {got['R']:.3f}; groups P {got['group_P']:.3f} R {got['group_R']:.3f}")
    assert len(kinds) > 100
    assert got["P"] >= 0.95 and got["R"] >= 0.95
