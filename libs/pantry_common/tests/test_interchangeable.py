"""What having a food covers: its kinds, and the interchangeable kinds it stands for."""

from __future__ import annotations

import pytest

from pantry_common import FoodVocabulary


@pytest.fixture(scope="module")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


@pytest.mark.parametrize(
    ("have", "kind"),
    [
        ("chicken", "chicken thigh"),
        ("chicken", "chicken breast"),
        ("chicken", "chicken drumstick"),
        ("rice", "jasmine rice"),
        ("rice", "basmati rice"),
        ("onion", "red onion"),
        ("lentils", "red lentil"),
        ("bell pepper", "red bell pepper"),
        ("white fish", "cod"),
    ],
)
def test_the_general_food_stands_for_the_same_purchase(
    vocab: FoodVocabulary, have: str, kind: str
) -> None:
    assert kind in vocab.covers(have)
    assert kind in vocab.stands_for(have)


@pytest.mark.parametrize(
    ("have", "kind"),
    [
        ("cheese", "parmesan"),
        ("cheese", "feta"),
        ("rice", "arborio rice"),
        ("rice", "glutinous rice"),
        ("flour", "bread flour"),
        ("chicken", "chicken liver"),
        ("chicken", "ground chicken"),
        ("pasta", "spaghetti"),
        ("onion", "green onion"),
        ("chicken thigh", "chicken breast"),
    ],
)
def test_strict_kinds_stay_strict(vocab: FoodVocabulary, have: str, kind: str) -> None:
    assert kind not in vocab.covers(have)


def test_a_kind_covers_its_general_food(vocab: FoodVocabulary) -> None:
    assert {"cheese", "dairy"} <= vocab.covers("parmesan")
    assert "chicken" in vocab.covers("chicken thighs")
    assert vocab.covers("dragon fruit jam") == {"dragon fruit jam"}


def test_every_interchangeable_kind_says_why_in_the_data(vocab: FoodVocabulary) -> None:
    marked = vocab.interchangeable()
    assert marked["chicken"] == [
        "chicken breast",
        "chicken drumstick",
        "chicken leg",
        "chicken thigh",
        "chicken wing",
    ]
    assert "cheese" not in marked


def test_interchangeable_needs_a_parent() -> None:
    with pytest.raises(ValueError, match="needs an is_a parent"):
        FoodVocabulary.from_toml('[foods.x]\n"a" = { interchangeable = true }\n')
    with pytest.raises(ValueError, match="true or false"):
        FoodVocabulary.from_toml(
            '[foods.x]\n"a" = {}\n"b" = { is_a = ["a"], interchangeable = "yes" }\n'
        )
