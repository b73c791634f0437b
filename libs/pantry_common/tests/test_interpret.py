"""Filters said in words: read out of the text into the query, shown in its normalised form."""

from __future__ import annotations

import pytest

from pantry_common import FoodVocabulary, build_query
from pantry_common._interpret import read_filters


@pytest.fixture(scope="module")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


@pytest.mark.parametrize(
    ("text", "left", "diets", "exclude", "max_time"),
    [
        ("quick vegetarian dinner", "dinner", {"vegetarian"}, set(), 30),
        ("pasta without meat", "pasta", set(), {"meat"}, None),
        ("pasta without meat or fish", "pasta", set(), {"meat", "fish"}, None),
        ("curry no nuts and no dairy", "curry", set(), {"nut", "dairy"}, None),
        ("gluten free bread under 45 minutes", "bread", {"gluten-free"}, set(), 45),
        ("vegan chili without beans", "chili", {"vegan"}, {"bean"}, None),
        ("stew in 2 hours", "stew", set(), set(), 120),
        ("soup under an hour", "soup", set(), set(), 60),
        ("soup in half an hour", "soup", set(), set(), 30),
        ("30 minute meals", "meals", set(), set(), 30),
        ("cake 20 minutes or less", "cake", set(), set(), 20),
        ("egg free cake", "cake", set(), {"egg"}, None),
        ("quick noodles under 15 minutes", "noodles", set(), set(), 15),
        # Not filters: "no" before a word that is no food, numbers that are no duration.
        ("no bake cheesecake", "no bake cheesecake", set(), set(), None),
        ("in a pickle", "in a pickle", set(), set(), None),
        ("7 layer dip", "7 layer dip", set(), set(), None),
        ("quick bread with walnuts", "quick bread with walnuts", set(), set(), None),
    ],
)
def test_read_filters(
    vocab: FoodVocabulary,
    text: str,
    left: str,
    diets: set[str],
    exclude: set[str],
    max_time: int | None,
) -> None:
    read = read_filters(text, vocab)
    assert (read.text, set(read.diets), set(read.exclude), read.max_time) == (
        left,
        diets,
        exclude,
        max_time,
    )


def test_filters_said_and_given_are_one_search(vocab: FoodVocabulary) -> None:
    said = build_query(vocab, q="Quick Vegetarian dinner without mushrooms")
    given = build_query(vocab, q="dinner", diet="vegetarian", max_time=30, exclude="mushrooms")
    assert said == given
    assert said.as_dict()["exclude"] == ["mushroom"]


def test_the_tighter_limit_wins_and_diets_add_up(vocab: FoodVocabulary) -> None:
    query = build_query(vocab, q="quick vegan soup", max_time=20, diet="nut-free")
    assert (query.max_time, query.diets) == (20, ("nut-free", "vegan"))
    assert build_query(vocab, q="quick soup", max_time=90).max_time == 30


def test_only_filter_words_are_searched_as_typed(vocab: FoodVocabulary) -> None:
    query = build_query(vocab, q="vegan")
    assert (query.text, query.diets) == ("vegan", ())
    with_have = build_query(vocab, q="vegan", have="tofu")
    assert (with_have.text, with_have.diets) == ("", ("vegan",))
    # Foods that name nothing leave nothing else to search for: still the text, as typed.
    no_food = build_query(vocab, q="vegan", have="!!!")
    assert (no_food.text, no_food.have, no_food.diets) == ("vegan", (), ())


def test_have_defaults_to_most_used(vocab: FoodVocabulary) -> None:
    assert build_query(vocab, have="rice").sort == "max_used"
    assert build_query(vocab, have="rice", sort="fewest_missing").sort == "fewest_missing"
    assert build_query(vocab, q="curry", have="rice").sort == "relevance"
