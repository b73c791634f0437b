"""Query normalisation: equal searches give equal keys; bad parameters are named."""

from __future__ import annotations

import pytest

from pantry_common import FoodVocabulary, QueryError, SearchQuery, build_query
from pantry_common._query import decode_cursor, encode_cursor


@pytest.fixture(scope="module")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


def test_text_is_lower_cased_unaccented_and_collapsed(vocab: FoodVocabulary) -> None:
    query = build_query(vocab, q="  Crème   BRÛLÉE!! ")
    assert query.text == "creme brulee"
    assert query == build_query(vocab, q="creme brulee")


def test_foods_are_canonical_sorted_and_unique(vocab: FoodVocabulary) -> None:
    a = build_query(vocab, have="Scallions, rice,Garlic,, rice")
    b = build_query(vocab, have="garlic,green onion,rice")
    assert a.have == b.have == ("garlic", "green onion", "rice")
    assert a.cache_key("p") == b.cache_key("p")
    assert a.search_id == b.search_id


def test_page_and_order_share_the_search_id_but_not_the_key(vocab: FoodVocabulary) -> None:
    first = build_query(vocab, q="soup", have="onion")
    other_page = build_query(vocab, q="soup", have="onion", cursor=encode_cursor(20))
    other_sort = build_query(vocab, q="soup", have="onion", sort="fewest_missing")
    assert first.search_id == other_page.search_id == other_sort.search_id
    assert len({first.cache_key("p"), other_page.cache_key("p"), other_sort.cache_key("p")}) == 3


def test_different_criteria_differ(vocab: FoodVocabulary) -> None:
    keys = {
        build_query(vocab, q="soup").cache_key("p"),
        build_query(vocab, q="soup", diet="vegan").cache_key("p"),
        build_query(vocab, q="soup", max_time=30).cache_key("p"),
        build_query(vocab, q="soup", exclude="peanut").cache_key("p"),
        build_query(vocab, q="soup", cuisine="Thai").cache_key("p"),
        build_query(vocab, q="soup").cache_key("other"),
    }
    assert len(keys) == 6


def test_default_sort_follows_the_question(vocab: FoodVocabulary) -> None:
    assert build_query(vocab, q="soup").sort == "relevance"
    assert build_query(vocab, have="rice").sort == "max_used"
    assert build_query(vocab, q="soup", have="rice").sort == "relevance"


def test_diets_accept_spelling_variants(vocab: FoodVocabulary) -> None:
    assert build_query(vocab, q="x", diet="Gluten Free,vegan").diets == ("gluten-free", "vegan")


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"q": "a" * 201}, "q"),
        ({}, "q"),
        ({"q": "?!"}, "q"),
        ({"have": ",".join(str(i) for i in range(31))}, "have"),
        ({"q": "x", "exclude": "a" * 61}, "exclude"),
        ({"q": "x", "diet": "keto"}, "diet"),
        ({"q": "x", "max_time": -5}, "max_time"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 51}, "limit"),
        ({"q": "x", "sort": "newest"}, "sort"),
        ({"q": "x", "cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_parameters_are_named(
    vocab: FoodVocabulary, kwargs: dict[str, object], parameter: str
) -> None:
    with pytest.raises(QueryError) as info:
        build_query(vocab, **kwargs)  # type: ignore[arg-type]
    assert info.value.parameter == parameter


@pytest.mark.parametrize("offset", [0, 1, 20, 1000])
def test_cursor_round_trip(offset: int) -> None:
    assert decode_cursor(encode_cursor(offset)) == offset


@pytest.mark.parametrize(
    "cursor", ["", "e30", "eyJvIjoxMDAxfQ", "eyJvIjoiMSJ9", "eyJvIjp0cnVlfQ", "😀"]
)
def test_foreign_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(QueryError):
        decode_cursor(cursor)


def test_next_cursor_stops_at_the_end() -> None:
    query = SearchQuery(text="soup", limit=10, offset=10)
    assert query.next_cursor(total=25) == encode_cursor(20)
    assert query.next_cursor(total=20) is None
